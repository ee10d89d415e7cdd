package soapquery_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/action"
	soapclient "github.com/reghub/reghub/adapters/soap"
	"github.com/reghub/reghub/adapters/soapquery"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/outbox"
	"github.com/reghub/reghub/schemas/query"
	"github.com/reghub/reghub/simulators/dmssim"
	"github.com/reghub/reghub/simulators/eddrsim"
	"github.com/reghub/reghub/simulators/upstream"
)

// TestGowsdlClient calls the endpoint with the generated client of
// query.wsdl, as an authority's Go system would.
func TestGowsdlClient(t *testing.T) {
	srv := httptest.NewServer(handler(&fakeAsker{}))
	t.Cleanup(srv.Close)
	port := func(token string) query.RegisterQueryPort {
		c := soap.NewClient(srv.URL, soap.WithHTTPClient(srv.Client()), soap.WithHTTPHeaders(map[string]string{
			"Authorization": "Bearer " + token, soapquery.PurposeHeader: purposeID,
		}))
		c.SetHeaders(xheaders().Elements()...)
		return query.NewRegisterQueryPort(c)
	}
	res, err := port(tokenAuthority).QueryContext(t.Context(), queryRequest(t))
	if err != nil {
		t.Fatal(err)
	}
	if res.QueryId != queryID.String() || *res.Status != query.QueryStatusAnswered || len(res.Record) != 1 ||
		res.Record[0].Field[0].Name != "surname" || res.Record[0].Field[0].Value != "Вигаденко" {
		t.Fatalf("response %+v", res)
	}
	_, err = port(tokenRegistry).QueryContext(t.Context(), queryRequest(t))
	var httpErr *soap.HTTPError
	if !errors.As(err, &httpErr) || httpErr.StatusCode != http.StatusInternalServerError {
		t.Fatalf("want *soap.HTTPError 500, got %T %v", err, err)
	}
	w := httptest.NewRecorder()
	w.Code = httpErr.StatusCode
	w.Body.Write(httpErr.ResponseBody)
	wantFault(t, decode(w), http.StatusInternalServerError, "Client", string(access.ReasonRequesterNotAuthorised))
}

// --- the real access.Service, over the simulators ---

type memRecorder struct {
	mu      sync.Mutex
	records []access.Access
}

func (m *memRecorder) RecordAccess(_ context.Context, a access.Access) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records = append(m.records, a)
	return nil
}

func (m *memRecorder) last(t *testing.T) access.Access {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.records) == 0 {
		t.Fatal("nothing recorded")
	}
	return m.records[len(m.records)-1]
}

type memPending struct {
	mu    sync.Mutex
	saved []access.Pending
}

func (m *memPending) SavePending(_ context.Context, p access.Pending) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.saved = append(m.saved, p)
	return nil
}
func (m *memPending) DuePending(context.Context, int) ([]access.Pending, error) { return nil, nil }
func (m *memPending) Resolve(context.Context, uuid.UUID, access.Answer) error   { return nil }
func (m *memPending) Postpone(context.Context, uuid.UUID, time.Time, string) error {
	return nil
}
func (m *memPending) Answer(context.Context, string, uuid.UUID) (access.Answer, error) {
	return access.Answer{}, access.ErrNoQuery
}
func (m *memPending) OverdueQueries(context.Context, int) ([]access.Overdue, error) { return nil, nil }

// localFinder is the hub's read model in this test: it knows the person's
// identity only, so the address and dates come from the national systems.
type localFinder struct{}

func (localFinder) Find(_ context.Context, r access.FindRequest) ([]access.Found, error) {
	if r.Search.UNZR != "19880412-07347" {
		return []access.Found{}, nil
	}
	return []access.Found{{Person: "unzr:19880412-07347", Record: map[string]any{
		"surname": "Вигаденко", "given_names": "Олеся", "birth_date": "1988-04-12", "unzr": "19880412-07347",
	}}}, nil
}

// declaration is a synthetic declaration the simulators apply first.
var declaration = action.Submission{
	Kind: action.KindDeclare,
	Person: action.Person{UNZR: "19880412-07347", RNOKPP: "3224401240", Surname: "Вигаденко", GivenNames: "Олеся",
		Patronymic: "Тестівна", BirthDate: "1988-04-12", Sex: "F"},
	Address:       &action.Address{KATOTTG: "UA12060190010000123", Street: "вул. Вигадана", Building: "17", Apartment: "42"},
	EffectiveDate: "2025-03-14",
	Official:      action.Official{ID: "reg-officer-0042", Name: "Зразкова Ганна Іванівна"},
}

// TestWithAccessService runs SOAP queries through the real access.Service
// with the default catalogue, the local source and both finders over the
// simulators: answered and merged, refused and recorded, pending while a
// system is down.
func TestWithAccessService(t *testing.T) {
	dmsSrv := httptest.NewServer(dmssim.New(upstream.Config{}, nil).Handler())
	eddrSrv := httptest.NewServer(eddrsim.New(upstream.Config{}, nil).Handler())
	t.Cleanup(dmsSrv.Close)
	t.Cleanup(eddrSrv.Close)
	cfg := soapclient.Config{DMSURL: dmsSrv.URL + "/dms", EDDRURL: eddrSrv.URL + "/eddr", Timeout: 2 * time.Second,
		RegistrationBody: mapping.RegistrationBody{Code: "99999901"}}
	body, err := json.Marshal(declaration)
	if err != nil {
		t.Fatal(err)
	}
	for dest, s := range soapclient.NewSenders(cfg, nil) {
		r, err := s.Send(t.Context(), outbox.Message{ID: uuid.New(), ActionRef: "RH-1", Destination: dest,
			Kind: declaration.Kind, Body: body, Stage: outbox.StageSend, Attempt: 1, CreatedAt: time.Now()})
		if err != nil || r.Kind != outbox.ReplyAcknowledged {
			t.Fatalf("deliver to %s: %+v %v", dest, r, err)
		}
	}

	catalogue, err := access.Default()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	rec, pend := &memRecorder{}, &memPending{}
	sources := soapclient.NewFinders(cfg, nil)
	sources[access.SourceLocal] = localFinder{}
	svc := &access.Service{Catalogue: catalogue, Sources: sources, Recorder: rec, Pending: pend,
		Now: func() time.Time { return now }, Log: quiet}
	h := handler(svc)

	req := queryRequest(t)
	req.Basis = citedBasis(t, "military.registration")
	req.Fields.Field = []string{"surname", "given_names", "birth_date", "sex", "address", "registration_date"}
	r := decode(post(h, envelope(t, xheaders(), req), nil))
	if r.status != http.StatusOK || r.resp == nil || *r.resp.Status != query.QueryStatusAnswered || len(r.resp.Record) != 1 {
		t.Fatalf("HTTP %d:\n%s", r.status, r.raw)
	}
	got := map[string]any{}
	for _, f := range r.resp.Record[0].Field {
		if len(f.Field) == 0 {
			got[f.Name] = f.Value
			continue
		}
		parts := map[string]any{}
		for _, p := range f.Field {
			parts[p.Name] = p.Value
		}
		got[f.Name] = parts
	}
	want := map[string]any{
		"surname": "Вигаденко", "given_names": "Олеся", "birth_date": "1988-04-12", "sex": "F",
		"address":           map[string]any{"katottg": "UA12060190010000123", "street": "вул. Вигадана", "building": "17", "apartment": "42"},
		"registration_date": "2025-03-14",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("record\n got %v\nwant %v", got, want)
	}
	a := rec.last(t)
	if a.Outcome != access.StatusAnswered || a.Requester.Org != orgAuthority || a.Query.Official.ID != "SYN-OFF-0042" ||
		a.Query.Case != "SYN-2026/0001" || a.Query.Purpose.ID != purposeID || a.QueryID.String() != r.resp.QueryId ||
		!reflect.DeepEqual(a.Persons, []string{"unzr:19880412-07347"}) {
		t.Fatalf("access record %+v", a)
	}

	// Refused: a field the basis does not grant; recorded.
	req.Fields.Field = append(req.Fields.Field, "contacts")
	f := wantFault(t, decode(post(h, envelope(t, xheaders(), req), nil)), http.StatusInternalServerError, "Client",
		string(access.ReasonFieldNotAuthorised))
	if a := rec.last(t); a.Outcome != access.StatusRefused || a.QueryID.String() != f.QueryId {
		t.Fatalf("refusal record %+v, fault %+v", a, f)
	}

	// The national registry is down: pending, due in three working days.
	if err := upstream.SetConfig(t.Context(), eddrSrv.URL, upstream.Config{Outage: true}); err != nil {
		t.Fatal(err)
	}
	req.Fields.Field = req.Fields.Field[:len(req.Fields.Field)-1]
	r = decode(post(h, envelope(t, xheaders(), req), nil))
	if r.status != http.StatusOK || r.resp == nil || *r.resp.Status != query.QueryStatusPending {
		t.Fatalf("HTTP %d:\n%s", r.status, r.raw)
	}
	if due := r.resp.DueAt.ToGoTime(); !due.Equal(access.Calendar{}.Due(now)) || len(pend.saved) != 1 {
		t.Fatalf("due %v, want %v; %d saved", due, access.Calendar{}.Due(now), len(pend.saved))
	}
}
