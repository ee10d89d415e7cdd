package outbox

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestBackoffGrowsWithJitterAndIsCapped(t *testing.T) {
	r := NewRelay(nil, nil, Config{RetryInitial: 100 * time.Millisecond, RetryMax: 2 * time.Second}, nil)
	for attempt := 1; attempt <= 12; attempt++ {
		base := min(100*time.Millisecond*time.Duration(1<<(attempt-1)), 2*time.Second)
		for i := 0; i < 50; i++ {
			d := r.backoff(attempt)
			// ExponentialBackOff randomises ±50% around the current interval.
			if d < base/2 || d > base*3/2 {
				t.Fatalf("attempt %d: wait %s outside [%s, %s]", attempt, d, base/2, base*3/2)
			}
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		err       error
		class     ErrorClass
		permanent bool
	}{
		{Transient(ClassSOAPServerFault, errors.New("x")), ClassSOAPServerFault, false},
		{Permanent(ClassSOAPClientFault, errors.New("x")), ClassSOAPClientFault, true},
		{fmt.Errorf("wrapped: %w", Permanent(ClassHTTP4xx, errors.New("x"))), ClassHTTP4xx, true},
		{context.DeadlineExceeded, ClassTimeout, false},
		{errors.New("anything else"), ClassTransport, false},
	}
	for _, tc := range cases {
		class, perm := Classify(tc.err)
		if class != tc.class || perm != tc.permanent {
			t.Errorf("Classify(%v) = %s, %v; want %s, %v", tc.err, class, perm, tc.class, tc.permanent)
		}
	}
}
