package notice_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/reghub/reghub/notice"
)

type fakeStore struct{ got []notice.Message }

func (f *fakeStore) ReceiveNotice(_ context.Context, m notice.Message) (notice.Received, bool, error) {
	f.got = append(f.got, m)
	return notice.Received{Message: m}, false, nil
}

func TestServiceStoresOnlyCheckedNoticesForItsBody(t *testing.T) {
	store := &fakeStore{}
	svc := &notice.Service{Store: store, RegistrationBodyCode: "UA1204-RB001", Now: func() time.Time { return now }}
	ctx := context.Background()

	got, _, err := svc.Receive(ctx, notice.Message{MessageID: "m1", Notice: recheck()})
	if err != nil {
		t.Fatal(err)
	}
	if len(store.got) != 1 || got.Notice.Action.HubActionID != actionID {
		t.Fatalf("stored %+v; want the notice in canonical form", store.got)
	}

	other := invalidDocument()
	other.Action.RegistrationBodyCode = "UA0000-RB999"
	other.Reason = ""
	_, _, err = svc.Receive(ctx, notice.Message{MessageID: "m2", Notice: other})
	var ve *notice.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 2 || ve.Fields[0].Field != "reason" || ve.Fields[1].Field != "action.registration_body_code" {
		t.Fatalf("another body's notice: %v; want reason and registration body refused", err)
	}
	if len(store.got) != 1 {
		t.Fatalf("a refused notice was stored")
	}
}
