package soapquery

import (
	"encoding/json"
	"fmt"

	"github.com/reghub/reghub/adapters/soapenv"
)

// text, object and list are soapenv's shapes by short names.
var (
	text   = soapenv.Text
	object = soapenv.Object
	list   = soapenv.List
)

// requestShape is query.xsd's QueryRequest by element name, with the JSON
// key of POST /v1/queries each becomes. officialName and purpose are text
// here and fill official.name and purpose.text; the rest keep their place.
var requestShape = map[string]soapenv.Shape{
	"officialName": text("name"),
	"purpose":      text("text"),
	"basis": object("basis", map[string]soapenv.Shape{
		"code": text("code"), "law": text("law"), "article": text("article"),
	}),
	"search": object("search", map[string]soapenv.Shape{
		"unzr":   text("unzr"),
		"rnokpp": text("rnokpp"),
		"nameBirthDate": object("name_birth_date", map[string]soapenv.Shape{
			"surname": text("surname"), "givenNames": text("given_names"),
			"patronymic": text("patronymic"), "birthDate": text("birth_date"),
		}),
		"address": object("address", map[string]soapenv.Shape{
			"katottg": text("katottg"), "street": text("street"),
			"building": text("building"), "apartment": text("apartment"),
		}),
	}),
	"fields":  list("fields", "field"),
	"consent": text("consent"),
	"applicant": object("applicant", map[string]soapenv.Shape{
		"unzr": text("unzr"), "rnokpp": text("rnokpp"),
	}),
}

// outside is what the query takes from outside the body: the X-Road
// userId and issue, and the Uxp-Purpose-Ids header.
type outside struct {
	official, caseRef, purposeID string
}

// queryJSON converts a QueryRequest element into the JSON body that
// access.ParseQuery reads, so that a SOAP query is validated exactly as a
// REST one. It checks the form only — every element known, in the query
// namespace, given once, text where text belongs, no attributes — and
// leaves the values to ParseQuery: an element left out is a key left out,
// and ParseQuery says what is missing. Errors are request_malformed and
// name elements, never values.
func queryJSON(req *soapenv.Node, c outside) ([]byte, *fault) {
	if req.Name.Space != nsQuery || req.Name.Local != "QueryRequest" {
		return nil, malformed("unknown operation: the Body holds %s, not QueryRequest of %s", soapenv.ElementName(req), nsQuery)
	}
	top, err := soapenv.Convert(req, nsQuery, "QueryRequest", requestShape)
	if err != nil {
		return nil, malformed("%v", err)
	}
	official := map[string]any{"id": c.official}
	if v, ok := top["name"]; ok {
		official["name"] = v
		delete(top, "name")
	}
	purpose := map[string]any{"id": c.purposeID}
	if v, ok := top["text"]; ok {
		purpose["text"] = v
		delete(top, "text")
	}
	top["official"], top["purpose"], top["case"] = official, purpose, c.caseRef
	body, merr := json.Marshal(top)
	if merr != nil {
		return nil, internalFault(fmt.Errorf("encode query: %w", merr))
	}
	return body, nil
}
