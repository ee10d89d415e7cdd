package soapquery

import (
	"encoding/json"
	"fmt"
)

// shape is how one element of a QueryRequest becomes JSON: text (a
// string), an object of named children, or a list of repeated items.
type shape struct {
	key      string           // the JSON key
	children map[string]shape // object: child element's local name → its shape
	item     string           // list: the local name of its items (text)
}

func text(key string) shape                        { return shape{key: key} }
func object(key string, ch map[string]shape) shape { return shape{key: key, children: ch} }
func list(key, item string) shape                  { return shape{key: key, item: item} }

// requestShape is query.xsd's QueryRequest by element name, with the JSON
// key of POST /v1/queries each becomes. officialName and purpose are text
// here and fill official.name and purpose.text; the rest keep their place.
var requestShape = map[string]shape{
	"officialName": text("name"),
	"purpose":      text("text"),
	"basis": object("basis", map[string]shape{
		"code": text("code"), "law": text("law"), "article": text("article"),
	}),
	"search": object("search", map[string]shape{
		"unzr":   text("unzr"),
		"rnokpp": text("rnokpp"),
		"nameBirthDate": object("name_birth_date", map[string]shape{
			"surname": text("surname"), "givenNames": text("given_names"),
			"patronymic": text("patronymic"), "birthDate": text("birth_date"),
		}),
		"address": object("address", map[string]shape{
			"katottg": text("katottg"), "street": text("street"),
			"building": text("building"), "apartment": text("apartment"),
		}),
	}),
	"fields":  list("fields", "field"),
	"consent": text("consent"),
	"applicant": object("applicant", map[string]shape{
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
func queryJSON(req *node, c outside) ([]byte, *fault) {
	if req.name.Space != nsQuery || req.name.Local != "QueryRequest" {
		return nil, malformed("unknown operation: the Body holds %s, not QueryRequest of %s", elementName(req), nsQuery)
	}
	top, err := convert(req, "QueryRequest", requestShape)
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

// convert turns an element of object shape into a JSON object.
func convert(n *node, where string, children map[string]shape) (map[string]any, error) {
	if len(n.attrs) > 0 {
		return nil, fmt.Errorf("%s: attributes are not allowed", where)
	}
	if !blank(n.text) {
		return nil, fmt.Errorf("%s: text is not allowed here, only elements", where)
	}
	out := map[string]any{}
	seen := map[string]bool{}
	for _, c := range n.children {
		s, ok := children[c.name.Local]
		if c.name.Space != nsQuery || !ok {
			return nil, fmt.Errorf("%s: unknown element %s", where, elementName(c))
		}
		if seen[c.name.Local] {
			return nil, fmt.Errorf("%s/%s: given twice", where, c.name.Local)
		}
		seen[c.name.Local] = true
		path := where + "/" + c.name.Local
		switch {
		case s.children != nil:
			v, err := convert(c, path, s.children)
			if err != nil {
				return nil, err
			}
			out[s.key] = v
		case s.item != "":
			v, err := items(c, path, s.item)
			if err != nil {
				return nil, err
			}
			out[s.key] = v
		default:
			v, err := textOf(c, path)
			if err != nil {
				return nil, err
			}
			out[s.key] = v
		}
	}
	return out, nil
}

// items turns a list element into a JSON array of its items' text.
func items(n *node, where, item string) ([]string, error) {
	if len(n.attrs) > 0 {
		return nil, fmt.Errorf("%s: attributes are not allowed", where)
	}
	if !blank(n.text) {
		return nil, fmt.Errorf("%s: text is not allowed here, only %s elements", where, item)
	}
	out := []string{}
	for _, c := range n.children {
		if c.name.Space != nsQuery || c.name.Local != item {
			return nil, fmt.Errorf("%s: unknown element %s", where, elementName(c))
		}
		v, err := textOf(c, where+"/"+item)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
