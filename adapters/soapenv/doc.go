// Package soapenv is what the hub's own SOAP endpoints share
// (adapters/soapquery, adapters/soapnotice): a strict reader of SOAP 1.1
// requests carrying the X-Road 4.0 headers — the HTTP form (Content-Type,
// SOAPAction, size), a bounded XML parser that refuses DTDs and other
// constructs a SOAP message has no use for, the envelope and its X-Road
// headers, and a converter of a body element into named values by a shape —
// and the writer of their answers and faults, rendered as gowsdl renders
// envelopes.
//
// Every error it returns is a sentence about the request's form, fit for
// the faultstring of a request_malformed fault: it names elements (quoted,
// cut short) and never repeats the values sent.
package soapenv
