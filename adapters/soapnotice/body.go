package soapnotice

import (
	"strings"

	"github.com/reghub/reghub/adapters/soapenv"
	"github.com/reghub/reghub/notice"
)

// noticeShape is notice.xsd's Notice by element name, with the JSON key of
// notice.Notice each becomes.
var noticeShape = map[string]soapenv.Shape{
	"noticeId": soapenv.Text("notice_id"),
	"kind":     soapenv.Text("kind"),
	"action": soapenv.Object("action", map[string]soapenv.Shape{
		"hubActionId":          soapenv.Text("hub_action_id"),
		"upstreamReference":    soapenv.Text("upstream_reference"),
		"registrationBodyCode": soapenv.Text("registration_body_code"),
	}),
	"person": soapenv.Object("person", map[string]soapenv.Shape{
		"unzr": soapenv.Text("unzr"), "rnokpp": soapenv.Text("rnokpp"),
	}),
	"document": soapenv.Object("document", map[string]soapenv.Shape{
		"type": soapenv.Text("type"), "number": soapenv.Text("number"),
	}),
	"civilRecord": soapenv.Object("civil_record", map[string]soapenv.Shape{
		"number": soapenv.Text("number"), "date": soapenv.Text("date"), "office": soapenv.Text("office"),
	}),
	"reason":   soapenv.Text("reason"),
	"issuedAt": soapenv.Text("issued_at"),
}

// noticeOf reads the Notice element of a request. It checks the form only
// — the operation, every element known, in the notice namespace, given
// once, text where text belongs — and leaves the values to notice.Check:
// an element left out is a field left empty. Errors are request_malformed
// and name elements, never values.
func noticeOf(body *soapenv.Node) (notice.Notice, *fault) {
	if body.Name.Space != Namespace || body.Name.Local != "Notice" {
		return notice.Notice{}, malformed("unknown operation: the Body holds %s, not Notice of %s", soapenv.ElementName(body), Namespace)
	}
	m, err := soapenv.Convert(body, Namespace, "Notice", noticeShape)
	if err != nil {
		return notice.Notice{}, malformed("%v", err)
	}
	n := notice.Notice{
		NoticeID: text(m, "notice_id"),
		Kind:     notice.Kind(text(m, "kind")),
		Reason:   text(m, "reason"),
		IssuedAt: text(m, "issued_at"),
	}
	if a := obj(m, "action"); a != nil {
		n.Action = notice.Action{
			HubActionID:          text(a, "hub_action_id"),
			UpstreamReference:    text(a, "upstream_reference"),
			RegistrationBodyCode: text(a, "registration_body_code"),
		}
	}
	if p := obj(m, "person"); p != nil {
		n.Person = &notice.Person{UNZR: text(p, "unzr"), RNOKPP: text(p, "rnokpp")}
	}
	if d := obj(m, "document"); d != nil {
		n.Document = &notice.Document{Type: text(d, "type"), Number: text(d, "number")}
	}
	if r := obj(m, "civil_record"); r != nil {
		n.CivilRecord = &notice.CivilRecord{Number: text(r, "number"), Date: xsdDate(text(r, "date")), Office: text(r, "office")}
	}
	return n, nil
}

func text(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func obj(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

// xsdDate drops the time zone an xs:date may carry (2026-03-14Z,
// 2026-03-14+02:00): a civil-status record's date is a calendar day.
func xsdDate(v string) string {
	if len(v) <= 10 {
		return v
	}
	switch zone := v[10:]; {
	case zone == "Z",
		len(zone) == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':' && strings.Trim(zone[1:3]+zone[4:], "0123456789") == "":
		return v[:10]
	}
	return v
}

// xmlPath names a notice field (its JSON path, action.hub_action_id) by its
// element path in the Notice (action/hubActionId).
func xmlPath(jsonPath string) string {
	shapes := noticeShape
	var out []string
	for _, key := range strings.Split(jsonPath, ".") {
		name, s, ok := byKey(shapes, key)
		if !ok {
			return jsonPath
		}
		out = append(out, name)
		shapes = s.Children
	}
	return strings.Join(out, "/")
}

func byKey(shapes map[string]soapenv.Shape, key string) (string, soapenv.Shape, bool) {
	for name, s := range shapes {
		if s.Key == key {
			return name, s, true
		}
	}
	return "", soapenv.Shape{}, false
}
