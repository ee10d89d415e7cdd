package soapquery

import (
	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/adapters/soapenv"
)

// nsQuery is the namespace of the messages the endpoint reads
// (query.xsd).
const nsQuery = "urn:reghub:query:v1"

// maxBody is the largest request body read: the JSON query's limit, with
// room for the envelope, the X-Road headers and XML's verbosity.
const maxBody = access.MaxQueryBytes * 4

// operation is the query operation as soapenv reads its requests.
var operation = soapenv.Operation{Action: SOAPAction, Aliases: []string{"Query"}, Noun: "query", MaxBody: maxBody}

// parseEnvelope reads a SOAP 1.1 envelope (soapenv.Parse): an Envelope
// holding an optional Header and one Body with exactly one element. Every
// error is a request_malformed fault.
func parseEnvelope(data []byte) (*soapenv.Envelope, *fault) {
	env, err := soapenv.Parse(data)
	if err != nil {
		return nil, malformed("%v", err)
	}
	return env, nil
}
