// Package mapping translates a registration action into the SOAP request and
// the X-Road 4.0 headers each destination expects: the migration service's
// OtgToDms (schemas/dms) and the national demographic registry's
// SubmitResidenceChange (schemas/eddr).
//
// It is pure: no I/O, no clock, no configuration of its own. Everything that
// is not in the submission (message id, action reference, status time, the
// hub's registration-body and bus identity) comes in as Meta and Identity, so
// one submission always maps to the same bytes, and a resend of a message is
// the same message.
//
// The per-kind choices live in one table per destination (dmsRules in dms.go,
// eddrRules in eddr.go): adding a kind of action is one entry in each. A kind
// without an entry is an error, which the relay treats as permanent.
//
// Envelope renders the SOAP 1.1 envelope gowsdl's client sends, for the
// golden files in testdata and for showing operators the message sent.
package mapping
