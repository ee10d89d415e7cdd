// Package soapnotice is the hub's SOAP endpoint for the migration service's
// notices to the registration body (schemas/notice/notice.wsdl, 002
// §7.7–7.8): an action to re-check, residence records to cancel. It
// receives each over SOAP 1.1 with the X-Road 4.0 headers, has it checked,
// stored and relayed to the local registry's event feed (notice.Service),
// and acknowledges it with the X-Road headers echoed.
//
// Who may send: the migration service only. It authenticates twice over,
// with what the hub already has — no new role:
//
//   - a bearer token of a client of role authority whose id is the
//     migration service's X-Road member code (Config.DMSMemberCode,
//     `reghub serve --dms-member-code`, by default the member code the hub
//     calls the migration service at); create it with
//     `reghub clients add --id <member code> --role authority`;
//   - the X-Road client header's memberCode equal to that id, as for an
//     authority's query (adapters/soapquery).
//
// Any other client, whatever its role, is refused: a notice makes the
// registry cancel residence records, so only the body that may ask for it
// can send one.
//
// A request is checked in this order, and the first problem answers it:
//
//  1. POST only; the bearer token (HTTP 401 without a valid one), of the
//     migration service's client (not_authorised);
//  2. its form: Content-Type text/xml, the Notify SOAPAction if one is
//     sent, at most MaxBody bytes, a well-formed SOAP 1.1 envelope without
//     DTD (request_malformed);
//  3. the X-Road headers client, service, id and protocolVersion 4.0
//     (request_incomplete, request_malformed), the client's memberCode
//     equal to the authenticated client's id (not_authorised);
//  4. the Notice's form: only its own elements, each once, text where text
//     belongs (request_malformed);
//  5. the notice itself (notice.Check): what its kind requires, identifiers
//     and dates valid, and, when the hub is configured with one, the
//     registration body it speaks for (invalid_notice, every problem
//     listed, by element path: document/number, issuedAt);
//  6. stored and relayed (notice.Store): a notice whose X-Road id or
//     noticeId was received before is acknowledged again with duplicate
//     true and not relayed again; either id reused for a different notice
//     is refused (notice_conflict).
//
// Refusals are SOAP Client faults whose faultcode is soap:Client.<reason>,
// whose faultstring is the detail, and whose detail holds a NoticeFault
// (reason, detail, and the noticeId when it was read); nothing is stored.
// A notice the hub could not store is a Server fault (soap:Server.internal)
// and the migration service sends it again. Every fault is HTTP 500, as
// SOAP 1.1 over HTTP wants, but the missing or invalid token (401) and a
// method other than POST (405). The acknowledgement is sent once the notice
// is committed.
package soapnotice
