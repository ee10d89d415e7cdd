package soapclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/action"
	soapclient "github.com/reghub/reghub/adapters/soap"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/outbox"
	"github.com/reghub/reghub/schemas/dms"
	"github.com/reghub/reghub/schemas/xroad"
)

var registrationBody = mapping.RegistrationBody{Code: "99999901", Name: "Відділ реєстрації (вигаданий)"}

func config(dest action.Destination, url string, timeout time.Duration) soapclient.Config {
	cfg := soapclient.Config{Timeout: timeout, RegistrationBody: registrationBody}
	switch dest {
	case action.DestMigrationService:
		cfg.DMSURL = url
	case action.DestNationalRegistry:
		cfg.EDDRURL = url
	}
	return cfg
}

func sender(t *testing.T, dest action.Destination, url string, timeout time.Duration, hc *http.Client) outbox.Sender {
	t.Helper()
	s, ok := soapclient.NewSenders(config(dest, url, timeout), hc)[dest]
	if !ok {
		t.Fatalf("no sender for %s", dest)
	}
	return s
}

// answerFunc answers the request got, for destination k.
type answerFunc func(k kit, w http.ResponseWriter, r *http.Request, got received)

func ok(body func(k kit, got received) string) answerFunc {
	return func(k kit, w http.ResponseWriter, _ *http.Request, got received) {
		writeXML(w, http.StatusOK, body(k, got))
	}
}

func status(code int, body string) answerFunc {
	return func(_ kit, w http.ResponseWriter, _ *http.Request, _ received) {
		writeXML(w, code, body)
	}
}

type wantErr struct {
	class     outbox.ErrorClass
	permanent bool
	contains  string // in the error text
}

func TestSenders(t *testing.T) {
	const receipt = "RCPT-000777"
	tests := []struct {
		name    string
		stage   outbox.Stage
		timeout time.Duration
		answer  answerFunc
		// refused: the upstream's port is closed.
		refused bool
		want    func(k kit) outbox.Reply
		wantErr *wantErr
	}{
		{
			name: "sync ack", stage: outbox.StageSend,
			answer: ok(func(k kit, g received) string { return k.send(g.id, k.ack, k.refEl, "REC-000123") }),
			want:   func(kit) outbox.Reply { return outbox.Reply{Kind: outbox.ReplyAcknowledged, Reference: "REC-000123"} },
		},
		{
			name: "async receipt", stage: outbox.StageSend,
			answer: ok(func(k kit, g received) string { return k.send(g.id, k.receipt, k.receiptEl, receipt) }),
			want:   func(kit) outbox.Reply { return outbox.Reply{Kind: outbox.ReplyReceipt, Reference: receipt} },
		},
		{
			name: "async receipt, second code", stage: outbox.StageSend,
			answer: ok(func(k kit, g received) string { return k.send(g.id, k.receipt2, k.receiptEl, receipt) }),
			want:   func(kit) outbox.Reply { return outbox.Reply{Kind: outbox.ReplyReceipt, Reference: receipt} },
		},
		{
			name: "rejection", stage: outbox.StageSend,
			answer: ok(func(k kit, g received) string {
				return k.send(g.id, k.rejected, k.reasonCodeEl, "ADDRESS_UNKNOWN", k.reasonTextEl, "Адресу не знайдено")
			}),
			want: func(kit) outbox.Reply {
				return outbox.Reply{Kind: outbox.ReplyRejected, ReasonCode: "ADDRESS_UNKNOWN", Reason: "Адресу не знайдено"}
			},
		},
		{
			name: "receipt without a receipt id", stage: outbox.StageSend,
			answer:  ok(func(k kit, g received) string { return k.send(g.id, k.receipt) }),
			wantErr: &wantErr{outbox.ClassMalformedReply, false, "without a"},
		},
		{
			name: "poll pending", stage: outbox.StagePoll,
			answer: ok(func(k kit, g received) string { return k.poll(g.id, k.pending) }),
			want:   func(kit) outbox.Reply { return outbox.Reply{Kind: outbox.ReplyPending, Reference: receipt} },
		},
		{
			name: "poll pending, second code", stage: outbox.StagePoll,
			answer: ok(func(k kit, g received) string { return k.poll(g.id, k.pending2) }),
			want:   func(kit) outbox.Reply { return outbox.Reply{Kind: outbox.ReplyPending, Reference: receipt} },
		},
		{
			name: "poll ack", stage: outbox.StagePoll,
			answer: ok(func(k kit, g received) string { return k.poll(g.id, k.ack, k.refEl, "REC-000124") }),
			want:   func(kit) outbox.Reply { return outbox.Reply{Kind: outbox.ReplyAcknowledged, Reference: "REC-000124"} },
		},
		{
			name: "poll rejection", stage: outbox.StagePoll,
			answer: ok(func(k kit, g received) string {
				return k.poll(g.id, k.rejected, k.reasonCodeEl, "DUPLICATE", k.reasonTextEl, "Повторне звернення")
			}),
			want: func(kit) outbox.Reply {
				return outbox.Reply{Kind: outbox.ReplyRejected, ReasonCode: "DUPLICATE", Reason: "Повторне звернення"}
			},
		},
		{
			name: "reply for another message", stage: outbox.StageSend,
			answer:  ok(func(k kit, _ received) string { return k.send("someone-else", k.ack, k.refEl, "REC-1") }),
			wantErr: &wantErr{outbox.ClassMalformedReply, false, `"someone-else"`},
		},
		{
			name: "poll reply for another message", stage: outbox.StagePoll,
			answer:  ok(func(k kit, _ received) string { return k.poll("someone-else", k.ack) }),
			wantErr: &wantErr{outbox.ClassMalformedReply, false, `"someone-else"`},
		},
		{
			name: "reply without result", stage: outbox.StageSend,
			answer:  ok(func(k kit, g received) string { return k.send(g.id, "") }),
			wantErr: &wantErr{outbox.ClassMalformedReply, false, "no "},
		},
		{
			name: "reply with unknown result", stage: outbox.StageSend,
			answer:  ok(func(k kit, g received) string { return k.send(g.id, "MAYBE") }),
			wantErr: &wantErr{outbox.ClassMalformedReply, false, "MAYBE"},
		},
		{
			name: "500 with a Server fault", stage: outbox.StageSend,
			answer:  status(500, fault("soap:Server", "Сховище тимчасово недоступне")),
			wantErr: &wantErr{outbox.ClassSOAPServerFault, false, "Сховище тимчасово недоступне"},
		},
		{
			name: "500 with a Client fault", stage: outbox.StageSend,
			answer:  status(500, fault("SOAP-ENV:Client", "statusCode is not allowed")),
			wantErr: &wantErr{outbox.ClassSOAPClientFault, true, "statusCode is not allowed"},
		},
		{
			name: "500 with a refined Client fault, other prefix", stage: outbox.StageSend,
			answer:  status(500, fault("e:Client.Validation", "bad katottg")),
			wantErr: &wantErr{outbox.ClassSOAPClientFault, true, "bad katottg"},
		},
		{
			name: "poll: 500 with a Server fault", stage: outbox.StagePoll,
			answer:  status(500, fault("soap:Server", "busy")),
			wantErr: &wantErr{outbox.ClassSOAPServerFault, false, "busy"},
		},
		{
			name: "200 with a Client fault", stage: outbox.StageSend,
			answer:  status(200, fault("soap:Client", "unknown registration body")),
			wantErr: &wantErr{outbox.ClassSOAPClientFault, true, "unknown registration body"},
		},
		{
			name: "200 with a Server fault", stage: outbox.StageSend,
			answer:  status(200, fault("Server", "try later")),
			wantErr: &wantErr{outbox.ClassSOAPServerFault, false, "try later"},
		},
		{
			name: "503 plain", stage: outbox.StageSend,
			answer:  status(503, "<html><body>Service Unavailable</body></html>"),
			wantErr: &wantErr{outbox.ClassHTTP5xx, false, "HTTP 503"},
		},
		{
			name: "502 empty", stage: outbox.StageSend,
			answer:  status(502, ""),
			wantErr: &wantErr{outbox.ClassHTTP5xx, false, "HTTP 502"},
		},
		{
			name: "400", stage: outbox.StageSend,
			answer:  status(400, "bad request"),
			wantErr: &wantErr{outbox.ClassHTTP4xx, true, "HTTP 400"},
		},
		{
			name: "404 with a Client fault stays http_4xx", stage: outbox.StageSend,
			answer:  status(404, fault("soap:Client", "no such service")),
			wantErr: &wantErr{outbox.ClassHTTP4xx, true, "no such service"},
		},
		{
			name: "408 is transient", stage: outbox.StageSend,
			answer:  status(408, ""),
			wantErr: &wantErr{outbox.ClassHTTP4xx, false, "HTTP 408"},
		},
		{
			name: "429 is transient", stage: outbox.StageSend,
			answer:  status(429, "slow down"),
			wantErr: &wantErr{outbox.ClassHTTP4xx, false, "HTTP 429"},
		},
		{
			name: "malformed XML", stage: outbox.StageSend,
			answer:  status(200, "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\"><SOAP-ENV:Body><oops"),
			wantErr: &wantErr{outbox.ClassMalformedReply, false, "undecodable"},
		},
		{
			name: "not a SOAP envelope", stage: outbox.StageSend,
			answer:  status(200, "<html><body>login</body></html>"),
			wantErr: &wantErr{outbox.ClassMalformedReply, false, "undecodable"},
		},
		{
			name: "200 without a Content-Type", stage: outbox.StageSend,
			answer: func(k kit, w http.ResponseWriter, _ *http.Request, g received) {
				w.Header()["Content-Type"] = nil // no sniffing either
				w.WriteHeader(200)
				_, _ = io.WriteString(w, k.send(g.id, k.ack))
			},
			wantErr: &wantErr{outbox.ClassMalformedReply, false, "media type"},
		},
		{
			name: "empty 200", stage: outbox.StageSend,
			answer:  status(200, ""),
			wantErr: &wantErr{outbox.ClassMalformedReply, false, "undecodable"},
		},
		{
			name: "wrong answer element", stage: outbox.StageSend,
			answer:  ok(func(k kit, g received) string { return k.poll(g.id, k.ack) }),
			wantErr: &wantErr{outbox.ClassMalformedReply, false, "undecodable"},
		},
		{
			name: "slow answer past the timeout", stage: outbox.StageSend, timeout: 150 * time.Millisecond,
			answer: func(k kit, w http.ResponseWriter, r *http.Request, g received) {
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
				writeXML(w, 200, k.send(g.id, k.ack))
			},
			wantErr: &wantErr{outbox.ClassTimeout, false, "timed out"},
		},
		{
			name: "connection dropped", stage: outbox.StageSend,
			answer: func(_ kit, w http.ResponseWriter, _ *http.Request, _ received) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
			},
			wantErr: &wantErr{outbox.ClassTransport, false, "EOF"},
		},
		{
			name: "connection refused", stage: outbox.StageSend, refused: true,
			wantErr: &wantErr{outbox.ClassTransport, false, "refused"},
		},
	}
	for _, k := range kits {
		for _, tt := range tests {
			t.Run(string(k.dest)+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				var url string
				var up *upstream
				if tt.refused {
					url = closedPortURL(t)
				} else {
					up = newUpstream(t, func(w http.ResponseWriter, r *http.Request, got received) { tt.answer(k, w, r, got) })
					url = up.srv.URL + "/" + string(k.dest)
				}
				timeout := tt.timeout
				if timeout == 0 {
					timeout = 5 * time.Second
				}
				s := sender(t, k.dest, url, timeout, nil)
				m := message(k.dest, tt.stage, "")
				call := s.Send
				if tt.stage == outbox.StagePoll {
					m.Receipt = receipt
					call = s.Poll
				}
				start := time.Now()
				reply, err := call(context.Background(), m)
				if tt.timeout != 0 && time.Since(start) > 10*tt.timeout {
					t.Errorf("call took %v with a timeout of %v", time.Since(start), tt.timeout)
				}
				if up != nil && up.count() != 1 {
					t.Errorf("upstream got %d requests, want 1", up.count())
				}
				if tt.wantErr == nil {
					if err != nil {
						t.Fatalf("unexpected error: %v", err)
					}
					if want := tt.want(k); reply != want {
						t.Errorf("reply %+v, want %+v", reply, want)
					}
					return
				}
				checkErr(t, err, *tt.wantErr)
			})
		}
	}
}

func checkErr(t *testing.T, err error, want wantErr) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", want.class)
	}
	t.Logf("error: %v", err)
	var de *outbox.DeliveryError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not an outbox.DeliveryError", err, err)
	}
	if class, permanent := outbox.Classify(err); class != want.class || permanent != want.permanent {
		t.Errorf("classified %s permanent=%v, want %s permanent=%v: %v", class, permanent, want.class, want.permanent, err)
	}
	if !strings.Contains(err.Error(), want.contains) {
		t.Errorf("error %q does not mention %q", err, want.contains)
	}
}

func closedPortURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/dms"
}

// TestErrorTextBounded: a large error page does not end up whole in the
// error text, but stays reachable through the wrapped *soap.HTTPError.
func TestErrorTextBounded(t *testing.T) {
	big := strings.Repeat("Помилка сервера. ", 2000)
	for _, body := range []string{big, fault("soap:Server", big)} {
		up := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ received) { writeXML(w, 500, body) })
		s := sender(t, action.DestMigrationService, up.srv.URL, time.Second, nil)
		_, err := s.Send(context.Background(), message(action.DestMigrationService, outbox.StageSend, ""))
		if err == nil {
			t.Fatal("no error")
		}
		if n := len(err.Error()); n > 512+200 {
			t.Errorf("error text is %d bytes: %.200s…", n, err)
		}
		var he *soap.HTTPError
		if !errors.As(err, &he) || len(he.ResponseBody) != len(body) {
			t.Errorf("the full *soap.HTTPError is not in the chain of %v", err)
		}
	}
}

// TestMappingErrorsArePermanent: a body the mapping cannot express never
// reaches the upstream.
func TestMappingErrorsArePermanent(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ received) { writeXML(w, 200, "") })
	for _, k := range kits {
		s := sender(t, k.dest, up.srv.URL, time.Second, nil)
		for name, body := range map[string]string{
			"unknown kind":                strings.Replace(submission, "residence.declare", "residence.teleport", 1),
			"not JSON":                    "{",
			"cancel without cancellation": strings.Replace(submission, "residence.declare", "residence.cancel", 1),
		} {
			m := message(k.dest, outbox.StageSend, "")
			m.Body = []byte(body)
			_, err := s.Send(context.Background(), m)
			checkErr(t, err, wantErr{outbox.ClassMapping, true, string(k.dest)})
			if name == "unknown kind" && !errors.Is(err, mapping.ErrUnknownKind) {
				t.Errorf("%s %s: %v does not wrap mapping.ErrUnknownKind", k.dest, name, err)
			}
		}
		_, err := s.Poll(context.Background(), message(k.dest, outbox.StagePoll, ""))
		checkErr(t, err, wantErr{outbox.ClassMapping, true, "receipt"})
	}
	if n := up.count(); n != 0 {
		t.Errorf("upstream got %d requests", n)
	}
}

// TestXRoadHeaders: what the upstream receives carries the hub's X-Road
// headers, the right service per operation, and is the very envelope
// mapping.Envelope shows operators.
func TestXRoadHeaders(t *testing.T) {
	for _, k := range kits {
		t.Run(string(k.dest), func(t *testing.T) {
			up := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, g received) {
				if g.receipt != "" {
					writeXML(w, 200, k.poll(g.id, k.pending))
					return
				}
				writeXML(w, 200, k.send(g.id, k.receipt, k.receiptEl, "RCPT-1"))
			})
			s := sender(t, k.dest, up.srv.URL, time.Second, nil)
			m := message(k.dest, outbox.StageSend, "")
			if _, err := s.Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			sent := up.last(t)
			services := mapping.DefaultIdentity().Services
			want := xroad.Headers{
				Client:          mapping.DefaultClient,
				Service:         services[k.dest],
				ID:              m.ID.String(),
				UserID:          "reg-officer-0042",
				Issue:           m.ActionRef,
				ProtocolVersion: "4.0",
			}
			if sent.headers != want {
				t.Errorf("send headers\n got %+v\nwant %+v", sent.headers, want)
			}
			if sent.id != m.ID.String() {
				t.Errorf("body id %q, want the message id %q", sent.id, m.ID)
			}
			if sent.bodyName.Space != k.ns {
				t.Errorf("body element %v, want namespace %s", sent.bodyName, k.ns)
			}
			if !strings.HasPrefix(sent.soapAction, k.ns+"/") {
				t.Errorf("SOAPAction %q", sent.soapAction)
			}

			// The envelope sent is the one mapping renders for operators.
			var sub action.Submission
			if err := json.Unmarshal(m.Body, &sub); err != nil {
				t.Fatal(err)
			}
			meta := mapping.Meta{MessageID: m.ID.String(), ActionRef: m.ActionRef, StatusTime: createdAt, RegistrationBody: registrationBody}
			var body any
			var err error
			if k.dest == action.DestMigrationService {
				body, err = mapping.ToDMS(&sub, meta)
			} else {
				body, err = mapping.ToEDDR(&sub, meta)
			}
			if err != nil {
				t.Fatal(err)
			}
			shown, err := mapping.Envelope(mapping.Headers(k.dest, mapping.DefaultIdentity(), meta, sub.Official), body)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := canonical(t, sent.raw), canonical(t, shown); got != want {
				t.Errorf("sent envelope differs from mapping.Envelope:\n sent %s\nshown %s", got, want)
			}

			m.Receipt = "RCPT-1"
			if _, err := s.Poll(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			polled := up.last(t)
			want.Service.ServiceCode = map[action.Destination]string{
				action.DestMigrationService: "OtgToDmsStatus",
				action.DestNationalRegistry: "GetChangeStatus",
			}[k.dest]
			// A poll is a message of its own: a fresh X-Road id, not the
			// delivery's; everything else as for the delivery.
			if polled.headers.ID == "" || polled.headers.ID == m.ID.String() {
				t.Errorf("poll X-Road id %q: want a fresh id, not the message's", polled.headers.ID)
			}
			want.ID = polled.headers.ID
			if polled.headers != want {
				t.Errorf("poll headers\n got %+v\nwant %+v", polled.headers, want)
			}
			if polled.id != m.ID.String() || polled.receipt != "RCPT-1" {
				t.Errorf("poll body id %q receipt %q", polled.id, polled.receipt)
			}
		})
	}
}

// TestConfiguredIdentity: the configured identity, not the defaults, goes
// out; a destination left out of Services keeps its default.
func TestConfiguredIdentity(t *testing.T) {
	k := kits[0]
	up := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, g received) {
		writeXML(w, 200, k.send(g.id, k.ack))
	})
	client := xroad.Identifier{ObjectType: "SUBSYSTEM", XRoadInstance: "SEVDEIR-DEMO", MemberClass: "GOV", MemberCode: "11111111", SubsystemCode: "HUB2"}
	cfg := config(k.dest, up.srv.URL, time.Second)
	cfg.Identity = mapping.Identity{Client: client}
	s := soapclient.NewSenders(cfg, nil)[k.dest]
	if _, err := s.Send(context.Background(), message(k.dest, outbox.StageSend, "")); err != nil {
		t.Fatal(err)
	}
	got := up.last(t).headers
	if got.Client != client || got.Service != mapping.DefaultDMSService {
		t.Errorf("client %s service %s", got.Client, got.Service)
	}
}

// TestConnectionReuse: sequential calls share one connection. gowsdl alone
// (its req.Close = true) would open one per call.
func TestConnectionReuse(t *testing.T) {
	const calls = 30
	k := kits[0]
	answer := func(w http.ResponseWriter, _ *http.Request, g received) {
		writeXML(w, 200, k.send(g.id, k.ack, k.refEl, "REC-1"))
	}

	up := newUpstream(t, answer)
	s := sender(t, k.dest, up.srv.URL, time.Second, soapclient.NewHTTPClient())
	for range calls {
		if _, err := s.Send(context.Background(), message(k.dest, outbox.StageSend, "")); err != nil {
			t.Fatal(err)
		}
	}
	if n := up.newConns.Load(); n != 1 {
		t.Errorf("%d calls opened %d connections, want 1", calls, n)
	}

	// An answer with more after the envelope than the XML decoder reads
	// (trailing white space, a comment): the rest is drained so the
	// connection still goes back to the pool.
	trailing := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, g received) {
		writeXML(w, 200, k.send(g.id, k.ack, k.refEl, "REC-1")+"<!--"+strings.Repeat(" ", 32<<10)+"-->\n")
	})
	s = sender(t, k.dest, trailing.srv.URL, time.Second, soapclient.NewHTTPClient())
	for range calls {
		if _, err := s.Send(context.Background(), message(k.dest, outbox.StageSend, "")); err != nil {
			t.Fatal(err)
		}
	}
	if n := trailing.newConns.Load(); n != 1 {
		t.Errorf("with trailing data, %d calls opened %d connections, want 1", calls, n)
	}

	// The trap this package works around, shown with gowsdl's client alone.
	bare := newUpstream(t, answer)
	hc := soapclient.NewHTTPClient()
	for range calls {
		port := dms.NewOtgToDmsPort(soap.NewClient(bare.srv.URL, soap.WithHTTPClient(hc)))
		_, _ = port.OtgToDmsContext(context.Background(), &dms.OtgToDmsRequest{RequestId: "x"})
	}
	if n := bare.newConns.Load(); n != calls {
		t.Logf("gowsdl alone opened %d connections for %d calls (expected %d: has gowsdl stopped setting req.Close?)", n, calls, calls)
	}
}

// TestConcurrentSends: messages sent at once each carry their own X-Road
// headers (gowsdl's client shares its header slice; ours never do), over a
// bounded number of connections.
func TestConcurrentSends(t *testing.T) {
	const workers, each = 32, 8
	k := kits[1]
	var mu sync.Mutex
	var mismatches []string
	up := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, g received) {
		if g.headers.ID != g.id {
			mu.Lock()
			mismatches = append(mismatches, fmt.Sprintf("header id %s, body id %s", g.headers.ID, g.id))
			mu.Unlock()
		}
		writeXML(w, 200, k.send(g.id, k.ack, k.refEl, "ENT-"+g.id))
	})
	s := sender(t, k.dest, up.srv.URL, 5*time.Second, nil)
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		wg.Go(func() {
			for range each {
				m := message(k.dest, outbox.StageSend, "")
				r, err := s.Send(context.Background(), m)
				if err == nil && r.Reference != "ENT-"+m.ID.String() {
					err = fmt.Errorf("message %s got reply %+v", m.ID, r)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(mismatches) > 0 {
		t.Errorf("%d requests mixed headers, e.g. %s", len(mismatches), mismatches[0])
	}
	// Connections are reused; a few more than workers may be dialled while a
	// finished one is on its way back to the pool.
	if n := up.newConns.Load(); n > 2*workers {
		t.Errorf("%d connections for %d workers and %d calls", n, workers, workers*each)
	}
}
