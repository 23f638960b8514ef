package main

import (
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"volley/report"
)

// outputOptions are the flags that say where a run's result goes, shared by
// run, find-max and demo.
type outputOptions struct {
	outs       []string
	quiet      bool
	noProgress bool
}

// register adds --out, -q and --no-progress; outHelp says what --out
// writes for the command.
func (o *outputOptions) register(f *pflag.FlagSet, outHelp, quietHelp string) {
	f.StringArrayVar(&o.outs, "out", nil, outHelp+" (repeatable; PATH - is stdout); formats: "+strings.Join(report.FormatNames(), ", "))
	f.BoolVarP(&o.quiet, "quiet", "q", false, quietHelp)
	f.BoolVar(&o.noProgress, "no-progress", false, "no progress bar")
}

// progress reports whether to draw the progress bar on stderr: on a
// terminal, unless -q or --no-progress.
func (o *outputOptions) progress(stderr io.Writer) bool {
	return !o.noProgress && !o.quiet && isTerminal(stderr)
}

// completeEnums lets shell completion offer the values of every flag that
// takes one of a fixed set, on every command that has it.
func completeEnums(root *cobra.Command) {
	outs := make([]string, 0, len(report.FormatNames()))
	for _, f := range report.FormatNames() {
		outs = append(outs, f+"=")
	}
	values := map[string][]string{
		"arrival":    {"uniform", "poisson"},
		"mode":       {"echo", "subscribe"},
		"match":      {"id", "fifo"},
		"data-order": {"round-robin", "random"},
		"format":     report.FormatNames(),
		"out":        outs,
	}
	for _, cmd := range root.Commands() {
		for name, vs := range values {
			if cmd.Flags().Lookup(name) == nil {
				continue
			}
			if name == "format" && cmd.Name() == "compare" {
				vs = []string{"text", "md"}
			}
			directive := cobra.ShellCompDirectiveNoFileComp
			if name == "out" {
				directive = cobra.ShellCompDirectiveNoSpace // FORMAT= is followed by the path
			}
			_ = cmd.RegisterFlagCompletionFunc(name, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
				return vs, directive
			})
		}
	}
}
