// Package soapclient delivers outbox messages to the two national systems
// over SOAP 1.1 with X-Road 4.0 headers: it implements outbox.Sender for the
// migration service (DMS, OtgToDms) and the national demographic registry
// (EDDR, SubmitResidenceChange) with the gowsdl-generated clients of
// schemas/dms and schemas/eddr, and the requests of package mapping.
//
// Three gowsdl v0.5.0 traps shape it (see /work/shared/STYLE.md):
//
//   - its client sets req.Close on every request, even with WithHTTPClient,
//     so every call would open a new connection: the shared *http.Client is
//     wrapped so that the request keeps its connection alive (and a response
//     body is drained before close, so the connection goes back to the pool);
//   - AddHeader and SetHeaders mutate the client's header slice without a
//     lock, and X-Road headers differ per message (id, userId, issue): every
//     call builds its own soap.Client, which is cheap;
//   - a SOAP fault sent with HTTP 500 comes back as *soap.HTTPError, not
//     *soap.SOAPFault: the body is parsed here to tell a Client fault
//     (permanent) from a Server fault (transient).
//
// Every failure is returned as an outbox.DeliveryError whose class and
// permanence the relay acts on; see classify in errors.go.
//
// The same clients answer authorities' queries (finder.go): DMSFinder and
// EDDRFinder implement access.Finder over the lookups ExtractPerson and
// LookupPerson, mapping each upstream's person to the catalogue's field
// names. A failure the relay would retry wraps access.ErrSourceUnavailable
// (the query waits); one it would not is a plain error (the query fails).
package soapclient
