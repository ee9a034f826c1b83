package kafkabatch

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
)

func TestResponseJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		resp Response
		want string
	}{
		{"zero", Response{}, `{"batchItemFailures":[]}`},
		{"empty", Response{BatchItemFailures: []BatchItemFailure{}}, `{"batchItemFailures":[]}`},
		{"one", Response{BatchItemFailures: []BatchItemFailure{{ItemIdentifier{Partition: "transactions-3", Offset: 42}}}},
			`{"batchItemFailures":[{"itemIdentifier":{"partition":"transactions-3","offset":42}}]}`},
		{"two", Response{BatchItemFailures: []BatchItemFailure{
			{ItemIdentifier{Partition: "a-0", Offset: 0}},
			{ItemIdentifier{Partition: "user_events-10", Offset: 9007199254740993}},
		}}, `{"batchItemFailures":[{"itemIdentifier":{"partition":"a-0","offset":0}},{"itemIdentifier":{"partition":"user_events-10","offset":9007199254740993}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, v := range []any{tt.resp, &tt.resp} {
				got, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != tt.want {
					t.Errorf("Marshal(%T) = %s, want %s", v, got, tt.want)
				}
			}
			var back Response
			if err := json.Unmarshal([]byte(tt.want), &back); err != nil {
				t.Fatal(err)
			}
			want := tt.resp
			if len(want.BatchItemFailures) == 0 {
				want.BatchItemFailures = []BatchItemFailure{}
			}
			if !reflect.DeepEqual(back, want) {
				t.Errorf("round trip = %+v, want %+v", back, want)
			}
		})
	}
}

// TestProcessThroughLambdaHandler invokes Process the way the Lambda runtime
// does (aws-lambda-go's handler, JSON in and out) and checks the bytes of the
// partial batch response.
func TestProcessThroughLambdaHandler(t *testing.T) {
	t.Parallel()
	h := &recordingHandler{fail: failOffsets(coord{"transactions", 10, 8}, coord{"transactions", 10, 9}, coord{"transactions", 2, 4})}
	p := newTestProcessor(t, h, WithDeadLetterSink(&memorySink{}))
	var rs []rec
	for off := int64(3); off < 10; off++ {
		rs = append(rs, rec{Topic: "transactions", Partition: 10, Offset: off, Value: validEvent(t, int(off))},
			rec{Topic: "transactions", Partition: 2, Offset: off, Value: validEvent(t, int(off))})
	}
	in, err := json.Marshal(payload(5, rs...))
	if err != nil {
		t.Fatal(err)
	}
	out, err := lambda.NewHandler(p.Process).Invoke(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"batchItemFailures":[{"itemIdentifier":{"partition":"transactions-2","offset":4}},{"itemIdentifier":{"partition":"transactions-10","offset":8}}]}`
	if string(out) != want {
		t.Errorf("response\n got %s\nwant %s", out, want)
	}

	h.fail = nil
	out, err = lambda.NewHandler(p.Process).Invoke(context.Background(), in)
	if err != nil || string(out) != `{"batchItemFailures":[]}` {
		t.Errorf("response = %s, %v", out, err)
	}
}
