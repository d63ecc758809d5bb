// OPA's own Go evaluator on the policies/ sources, for `make bench` only: the in-process peer of
// our wasm engine. It loads the policies once (tests left out, as the bundle build does),
// prepares the query `data.switchyard.decision` once (rego.PrepareForEval), and then evaluates
// one input per Eval call, as an application embedding OPA's `rego` package would.
//
//	opa-eval POLICY_DIR INPUTS_JSON
//
// INPUTS_JSON is a JSON array of policy inputs. Commands arrive one per line on stdin, each
// answered with one line of JSON on stdout:
//
//	answers   the decision for every input, in order (compared with ours before timing)
//	time N    N evaluations, cycling through the inputs; the nanoseconds of each, in order
//	quit      exit
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/util"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: opa-eval POLICY_DIR INPUTS_JSON")
		os.Exit(2)
	}
	ctx := context.Background()
	noTests := func(abspath string, info os.FileInfo, depth int) bool {
		return !info.IsDir() && strings.HasSuffix(info.Name(), "_test.rego")
	}
	query, err := rego.New(
		rego.Query("data.switchyard.decision"),
		rego.Load([]string{os.Args[1]}, noTests),
	).PrepareForEval(ctx)
	if err != nil {
		fail(err)
	}
	raw, err := os.ReadFile(os.Args[2])
	if err != nil {
		fail(err)
	}
	// util.UnmarshalJSON keeps numbers as json.Number, as OPA's server does with a request body.
	var inputs []interface{}
	if err := util.UnmarshalJSON(raw, &inputs); err != nil {
		fail(err)
	}
	if len(inputs) == 0 {
		fail(fmt.Errorf("%s holds no inputs", os.Args[2]))
	}
	eval := func(i int) interface{} {
		rs, err := query.Eval(ctx, rego.EvalInput(inputs[i%len(inputs)]))
		if err != nil {
			fail(err)
		}
		if len(rs) != 1 || len(rs[0].Expressions) != 1 {
			fail(fmt.Errorf("input %d: %d results, want one", i%len(inputs), len(rs)))
		}
		return rs[0].Expressions[0].Value
	}
	out := bufio.NewWriter(os.Stdout)
	reply := func(v interface{}) {
		b, err := json.Marshal(v)
		if err != nil {
			fail(err)
		}
		out.Write(b)
		out.WriteByte('\n')
		out.Flush()
	}
	fmt.Fprintln(out, "ready")
	out.Flush()
	next := 0
	lines := bufio.NewScanner(os.Stdin)
	for lines.Scan() {
		cmd := strings.Fields(lines.Text())
		switch {
		case len(cmd) == 1 && cmd[0] == "answers":
			all := make([]interface{}, len(inputs))
			for i := range inputs {
				all[i] = eval(i)
			}
			reply(all)
		case len(cmd) == 2 && cmd[0] == "time":
			n, err := strconv.Atoi(cmd[1])
			if err != nil || n < 1 {
				fail(fmt.Errorf("bad count %q", cmd[1]))
			}
			ns := make([]int64, n)
			for k := 0; k < n; k++ {
				t0 := time.Now()
				eval(next)
				ns[k] = time.Since(t0).Nanoseconds()
				next++
			}
			reply(ns)
		case len(cmd) == 1 && cmd[0] == "quit":
			return
		default:
			fail(fmt.Errorf("unknown command %q", lines.Text()))
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "opa-eval:", err)
	os.Exit(1)
}
