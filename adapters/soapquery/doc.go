// Package soapquery is the hub's SOAP endpoint for authorities' queries
// (schemas/query/query.wsdl): the same query as POST /v1/queries, over SOAP
// 1.1 with the X-Road 4.0 headers, as the national bus (Trembita) carries
// it.
//
// A request is checked in this order, and the first problem answers it:
//
//  1. POST only; a bearer token of a client with role authority (HTTP 401
//     without a valid token; a Client fault requester_not_authorised for
//     another role);
//  2. its form: Content-Type text/xml, the query's SOAPAction if one is
//     sent, at most access.MaxQueryBytes*4 bytes, a well-formed SOAP 1.1
//     envelope without DTD (request_malformed);
//  3. the X-Road headers client, service, id and protocolVersion 4.0
//     (request_incomplete, request_malformed), and the client's memberCode
//     equal to the authenticated client's id (requester_not_authorised);
//  4. at most one purpose id in Uxp-Purpose-Ids (request_malformed);
//  5. the QueryRequest's form: only its own elements, each once, text
//     where text belongs (request_malformed);
//  6. then the query itself: the body becomes the JSON of POST /v1/queries
//     — userId as official.id, issue as case, the purpose header as
//     purpose.id — and access.Service.Ask validates, decides, routes and
//     records it, exactly as for REST.
//
// Refusals are SOAP Client faults whose faultcode is soap:Client.<reason>,
// whose faultstring is the detail, and whose detail holds a QueryFault
// (reason, detail, and the query id once the query was recorded). A query
// that failed, or that the hub could not handle, is a Server fault
// (soap:Server.failed, soap:Server.internal). Every fault is HTTP 500, as
// SOAP 1.1 over HTTP wants, but the missing or invalid token (401). A
// granted query's answer echoes the X-Road headers (id, client, service,
// userId, issue, protocolVersion) and carries the query id, its status
// (answered, or pending while a system is down, with the date it is due),
// the decision, and the records, each field by name: a value, or for
// document and addresses the fields they are made of.
package soapquery
