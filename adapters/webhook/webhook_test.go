package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/outbox"
)

type targets struct{ url, secret string }

func (t targets) WebhookTarget(context.Context, string) (string, string, error) {
	return t.url, t.secret, nil
}

func TestSignVerify(t *testing.T) {
	body := []byte(`{"action_id":"x","status":"completed"}`)
	now := time.Unix(1_800_000_000, 0)
	h := Sign("s3cret", now, body)
	cases := []struct {
		name   string
		secret string
		header string
		body   []byte
		now    time.Time
		ok     bool
	}{
		{"valid", "s3cret", h, body, now, true},
		{"other secret", "other", h, body, now, false},
		{"body changed", "s3cret", h, []byte(`{"status":"rejected"}`), now, false},
		{"too old", "s3cret", h, body, now.Add(10 * time.Minute), false},
		{"garbage header", "s3cret", "v1=abc", body, now, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.secret, tc.header, tc.body, tc.now, 5*time.Minute)
			if (err == nil) != tc.ok {
				t.Fatalf("Verify = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestSendClassifiesAnswers(t *testing.T) {
	cases := []struct {
		status    int
		wantErr   bool
		permanent bool
	}{
		{204, false, false},
		{200, false, false},
		{500, true, false},
		{503, true, false},
		{429, true, false},
		{408, true, false},
		{400, true, true},
		{410, true, true},
	}
	for _, tc := range cases {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			var gotSig, gotID string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotSig, gotID = r.Header.Get("Reghub-Signature"), r.Header.Get("Reghub-Event-Id")
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			s := New(targets{srv.URL, "sec"}, time.Second)
			m := outbox.Message{ID: uuid.New(), Body: []byte(`{"client_id":"reg","status":"completed"}`)}
			reply, err := s.Send(context.Background(), m)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && reply.Kind != outbox.ReplyAcknowledged {
				t.Fatalf("reply %+v, want acknowledged", reply)
			}
			if err != nil {
				if _, perm := outbox.Classify(err); perm != tc.permanent {
					t.Fatalf("permanent = %v, want %v (%v)", perm, tc.permanent, err)
				}
			}
			if gotID != m.ID.String() || Verify("sec", gotSig, m.Body, time.Now(), time.Minute) != nil {
				t.Fatalf("event id %q / signature %q not as sent", gotID, gotSig)
			}
		})
	}
}

func TestSendWithoutWebhookIsPermanent(t *testing.T) {
	s := New(targets{"", ""}, time.Second)
	_, err := s.Send(context.Background(), outbox.Message{ID: uuid.New(), Body: []byte(`{"client_id":"gone"}`)})
	var de *outbox.DeliveryError
	if !errors.As(err, &de) || !de.Permanent {
		t.Fatalf("err = %v, want a permanent delivery error", err)
	}
}
