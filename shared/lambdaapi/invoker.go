// Package lambdaapi speaks the Lambda Invoke API (2015-03-31) from both
// sides: Invoker calls a function through it with the AWS SDK, as the event
// source mapping emulator does for functions deployed to LocalStack or AWS,
// and Server answers it on loopback for functions run locally, the way
// Lambda does.
package lambdaapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/shopstream/shopstream/shared/esm"
)

// ErrFunctionNotFound is wrapped by the errors of invocations of a function
// (or qualifier) that does not exist.
var ErrFunctionNotFound = errors.New("function not found")

var _ esm.Invoker = (*Invoker)(nil)

// Invoker invokes one function synchronously (RequestResponse) through the
// Lambda Invoke API. It is safe for concurrent use.
type Invoker struct {
	client    *lambda.Client
	function  string
	qualifier string
}

// InvokerOption configures an Invoker.
type InvokerOption func(*Invoker)

// WithQualifier sets the version or alias to invoke. Default: none, which
// invokes $LATEST (or the qualifier function carries, as in "fraud:live").
func WithQualifier(q string) InvokerOption { return func(i *Invoker) { i.qualifier = q } }

// NewInvoker returns an Invoker of function (a name, a "name:qualifier", or a
// full or partial ARN) through client. The client's configuration says where
// Lambda is: AWS, or LocalStack or a Server through its BaseEndpoint.
func NewInvoker(client *lambda.Client, function string, opts ...InvokerOption) *Invoker {
	i := &Invoker{client: client, function: function}
	for _, o := range opts {
		o(i)
	}
	return i
}

// Invoke invokes the function with payload and returns its response. A
// function error (X-Amz-Function-Error) is a *esm.FunctionError with the
// errorType and errorMessage of the error document; a function that does not
// exist is an error wrapping ErrFunctionNotFound; any other error, one of the
// SDK.
func (i *Invoker) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	in := &lambda.InvokeInput{
		FunctionName:   aws.String(i.function),
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        payload,
	}
	if i.qualifier != "" {
		in.Qualifier = aws.String(i.qualifier)
	}
	out, err := i.client.Invoke(ctx, in)
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("invoke function %s: %w: %w", i.name(), ErrFunctionNotFound, err)
		}
		return nil, fmt.Errorf("invoke function %s: %w", i.name(), err)
	}
	if out.FunctionError != nil {
		return nil, functionError(aws.ToString(out.FunctionError), out.Payload)
	}
	return out.Payload, nil
}

func (i *Invoker) name() string {
	if i.qualifier != "" {
		return i.function + ":" + i.qualifier
	}
	return i.function
}

// errorDocument is the error document a function error comes with.
type errorDocument struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

// functionError reads the error document of a function error; kind is the
// X-Amz-Function-Error value ("Unhandled"), the type when the document has
// none. A payload that is not a document is the message.
func functionError(kind string, payload []byte) *esm.FunctionError {
	var doc errorDocument
	if err := json.Unmarshal(payload, &doc); err != nil {
		doc = errorDocument{ErrorMessage: string(payload)}
	}
	fe := &esm.FunctionError{Type: doc.ErrorType, Message: doc.ErrorMessage}
	if fe.Type == "" {
		fe.Type = kind
	}
	return fe
}
