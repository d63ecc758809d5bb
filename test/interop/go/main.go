// Command interop evaluates (flag, context) cases through the stock OpenFeature Go SDK with the
// stock OFREP provider (go-sdk-contrib/providers/ofrep), as a Go service would, and prints what the
// client sees: value, variant, reason and error code.
//
// Usage: interop <base URL> <bearer token> <cases.json> <results.json>
// cases.json: [{"flag": "...", "type": "boolean"|"string"|"integer"|"number"|"object", "context": {...}}]
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/open-feature/go-sdk-contrib/providers/ofrep"
	"github.com/open-feature/go-sdk/openfeature"
)

type testCase struct {
	Flag    string         `json:"flag"`
	Type    string         `json:"type"`
	Context map[string]any `json:"context"`
}

type result struct {
	Value     any    `json:"value"`
	Variant   string `json:"variant"`
	Reason    string `json:"reason"`
	ErrorCode string `json:"errorCode"`
}

// Code defaults no flag serves, so a fallback to them is visible.
const (
	defaultString = "code-default"
	defaultNumber = -1.0
)

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: interop <base URL> <token> <cases.json> <results.json>")
		os.Exit(2)
	}
	base, token, in, out := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	raw, err := os.ReadFile(in)
	if err != nil {
		panic(err)
	}
	var cases []testCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		panic(err)
	}
	provider := ofrep.NewProvider(base, ofrep.WithBearerToken(token))
	if err := openfeature.SetProviderAndWait(provider); err != nil {
		panic(err)
	}
	client := openfeature.NewClient("interop")
	ctx := context.Background()
	results := make([]result, len(cases))
	for i, c := range cases {
		ec := openfeature.NewTargetlessEvaluationContext(c.Context)
		if tk, ok := c.Context["targetingKey"].(string); ok {
			attrs := map[string]any{}
			for k, v := range c.Context {
				if k != "targetingKey" {
					attrs[k] = v
				}
			}
			ec = openfeature.NewEvaluationContext(tk, attrs)
		}
		var d openfeature.InterfaceEvaluationDetails
		switch c.Type {
		case "boolean":
			b, _ := client.BooleanValueDetails(ctx, c.Flag, false, ec)
			d = openfeature.InterfaceEvaluationDetails{Value: b.Value, EvaluationDetails: b.EvaluationDetails}
		case "string":
			s, _ := client.StringValueDetails(ctx, c.Flag, defaultString, ec)
			d = openfeature.InterfaceEvaluationDetails{Value: s.Value, EvaluationDetails: s.EvaluationDetails}
		case "integer":
			n, _ := client.IntValueDetails(ctx, c.Flag, -1, ec)
			d = openfeature.InterfaceEvaluationDetails{Value: n.Value, EvaluationDetails: n.EvaluationDetails}
		case "number":
			f, _ := client.FloatValueDetails(ctx, c.Flag, defaultNumber, ec)
			d = openfeature.InterfaceEvaluationDetails{Value: f.Value, EvaluationDetails: f.EvaluationDetails}
		default:
			d, _ = client.ObjectValueDetails(ctx, c.Flag, map[string]any{}, ec)
		}
		results[i] = result{Value: d.Value, Variant: d.Variant, Reason: string(d.Reason), ErrorCode: string(d.ErrorCode)}
	}
	b, err := json.Marshal(results)
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		panic(err)
	}
	openfeature.Shutdown()
}
