package dmssim_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/adapters/soapnotice"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/notice"
	wsdl "github.com/reghub/reghub/schemas/notice"
	"github.com/reghub/reghub/simulators/dmssim"
	"github.com/reghub/reghub/simulators/upstream"
)

type dmsClient struct{}

func (dmsClient) Authenticate(_ context.Context, token string) (*auth.Client, error) {
	if token == "tok-dms" {
		return &auth.Client{ID: dmssim.NoticeClient.MemberCode, Role: auth.RoleAuthority}, nil
	}
	return nil, auth.ErrUnauthenticated
}

// memStore keeps notices by notice id: enough to answer duplicates.
type memStore struct{ byID map[string]notice.Received }

func (m *memStore) ReceiveNotice(_ context.Context, msg notice.Message) (notice.Received, bool, error) {
	if r, ok := m.byID[msg.Notice.NoticeID]; ok {
		return r, true, nil
	}
	r := notice.Received{ID: uuid.New(), Message: msg, ReceivedAt: time.Now()}
	m.byID[msg.Notice.NoticeID] = r
	return r, false, nil
}

// The simulator's notices of each kind about an applied message pass the
// hub's checks; sent again, they are duplicates; a refusal is a
// NoticeFault.
func TestSendNoticeOfEachKind(t *testing.T) {
	store := &memStore{byID: map[string]notice.Received{}}
	svc := &notice.Service{Store: store, RegistrationBodyCode: "UA1204-RB001"}
	hub := httptest.NewServer(soapnotice.Handler(svc, dmsClient{}, soapnotice.Config{DMSMemberCode: dmssim.NoticeClient.MemberCode}, slog.New(slog.DiscardHandler)))
	defer hub.Close()
	target := dmssim.NoticeTarget{URL: hub.URL, Token: "tok-dms", UserID: "DMS-OFF-0007"}
	applied := []upstream.AppliedEntry{
		{RecordID: "DMS-00000001", Message: upstream.Message{Reference: "RH-" + uuid.NewString(), PersonKey: "19880412-07347"}},
		{RecordID: "DMS-00000002", Message: upstream.Message{Reference: "RH-" + uuid.NewString(), PersonKey: "3224401240"}},
	}
	ctx := context.Background()
	for _, k := range []wsdl.NoticeKind{wsdl.NoticeKindRecheck_action, wsdl.NoticeKindCancel_invalid_document, wsdl.NoticeKindCancel_annulled_civil_record} {
		for _, a := range applied {
			n := dmssim.NoticeOf(k, a, "UA1204-RB001", time.Now().Add(-time.Minute))
			ack, err := dmssim.SendNotice(ctx, target, "", n)
			if err != nil || ack.NoticeId != n.NoticeId || ack.Duplicate {
				t.Fatalf("%s about %s: ack %+v, err %v", k, a.RecordID, ack, err)
			}
			if ack, err := dmssim.SendNotice(ctx, target, "", n); err != nil || !ack.Duplicate {
				t.Fatalf("%s about %s sent again: ack %+v, err %v", k, a.RecordID, ack, err)
			}
		}
	}
	n := dmssim.NoticeOf(wsdl.NoticeKindRecheck_action, applied[0], "UA0000-RB999", time.Now())
	n.NoticeId = "DMS-N-OTHER"
	_, err := dmssim.SendNotice(ctx, target, "", n)
	var f *dmssim.NoticeFault
	if !errors.As(err, &f) || f.Reason != soapnotice.ReasonInvalid || f.Server() {
		t.Fatalf("a notice for another body: %v, want an invalid_notice fault", err)
	}
	target.Token = "tok-other"
	if _, err := dmssim.SendNotice(ctx, target, "", n); !errors.As(err, &f) || f.HTTPStatus != 401 {
		t.Fatalf("unknown token: %v, want HTTP 401", err)
	}
}
