// Package upstream is the protocol-independent core of the simulated
// upstreams of the hub — the migration service (DMS, simulators/dmssim) and
// the national demographic registry (EDDR, simulators/eddrsim). The
// front-ends map their SOAP messages (the gowsdl-generated types of
// schemas/dms and schemas/eddr) onto an Engine and serve it with NewHandler.
//
// The Engine keeps, under one lock:
//   - the applied log, in order of application (of acceptance, in async mode);
//   - the first answer to every X-Road message id: a resend of an id is
//     counted as a duplicate and gets that answer verbatim, never applied
//     twice (faults, decided before that, are not answers and are not kept);
//   - each person's current state (declared, registered, deregistered,
//     excluded, deceased, cancelled; keyed by UNZR, else RNOKPP), place of
//     stay and history;
//   - the address-directory changes applied, per address key ("address:"
//     and the community's KATOTTG code), each with the persons whose
//     addresses it renamed or renumbered;
//   - receipts of async acceptances (receipt → message, decision, ready-at);
//   - for lookups (Lookup: DMS ExtractPerson, EDDR LookupPerson), each
//     person's latest applied identity and the residence the applied
//     messages left (address, kind, dates, previous address), brought back
//     with the state by a cancellation, and a log of the lookups served.
//
// Business rules: a message missing a required field is REJECTED with
// INVALID_REQUEST (a business answer, HTTP 200, stored and repeated like any
// other; a SOAP Client fault is kept for messages whose form is wrong: bad
// envelope, X-Road id or protocolVersion, X-Road id ≠ body id, unknown
// operation or receipt); deregistering (also on death) or changing the
// residence of a person with no current registration or declaration is
// REJECTED with NO_ACTIVE_REGISTRATION, excluding a residence that is not a
// declared one with NO_DECLARED_RESIDENCE, correcting a person nothing was
// recorded for with UNKNOWN_PERSON, and anything but a cancellation for a
// person deregistered on death with PERSON_DECEASED — rules that look at the
// person's state only, so an in-order replay of kinds and keys decides
// alike; an address-directory change is never refused on state;
// Config.RejectionRate rejects a share of message ids, chosen by a hash of
// the id so every resend gets the same decision.
//
// Faults (Config) are decided per SOAP request before anything is applied,
// except the slow knob, which applies and then answers late. Tests change
// them at run time over HTTP with SetConfig and read the outcome with
// Inspect; they never reach into a simulator in memory.
package upstream
