// Command volley is a load generator and latency benchmarker for HTTP and
// WebSocket whose latencies are measured from each request's intended send
// time.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"volley/report"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit codes shared by every command.
const (
	exitOK          = 0
	exitRuntime     = 1
	exitUsage       = 2
	exitRegression  = 98
	exitThresholds  = 99
	exitInterrupted = 130
)

// helpWidth is the width volley's help and reports fit in.
const helpWidth = 80

// usageError marks bad input: the command exits 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usageErrorf returns a usageError with a formatted message.
func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// exitError carries a specific exit code with an optional message.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e exitError) Unwrap() error { return e.err }

func main() {
	// A closed stdout (volley run ... | head -1) must fail the write, which
	// is reported, instead of killing the process before its files are
	// written.
	signal.Ignore(syscall.SIGPIPE)
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line args and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return exitCode(err, stderr)
}

// exitCode maps an error returned by a command to the exit code, printing the
// message on stderr.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "volley: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "volley: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitRuntime
}

// notice prints a notice for the user on w ("volley: ..."), folded to 80
// columns. (Errors stay on one line, so that a CI log can be searched for
// them.)
func notice(w io.Writer, format string, args ...any) {
	fmt.Fprintln(w, report.Hang("volley: ", fmt.Sprintf(format, args...)))
}

// noArgs rejects positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s: unexpected argument %q", cmd.Name(), args[0])
	}
	return nil
}

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "volley",
		Short: "Load generator for HTTP and WebSocket whose latencies can be trusted",
		Long: `volley sends HTTP requests (HTTP/1.1 and HTTP/2) and WebSocket messages on an
open-loop schedule (or as fast as possible), measures every latency from the
request's or message's intended send time into HDR histograms, and reports
percentiles, status codes, message counts and transport errors for people
(text, HTML, Markdown) and machines (JSON, HdrHistogram logs, JUnit, CSV).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	cobra.AddTemplateFunc("flagUsages80", func(f *pflag.FlagSet) string { return f.FlagUsagesWrapped(helpWidth) })
	root.SetUsageTemplate(strings.NewReplacer(
		".LocalFlags.FlagUsages", "flagUsages80 .LocalFlags",
		".InheritedFlags.FlagUsages", "flagUsages80 .InheritedFlags",
	).Replace(root.UsageTemplate()))
	root.Args = func(_ *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageErrorf("unknown command %q; see volley --help", args[0])
		}
		return nil
	}
	root.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	root.AddCommand(
		newRunCmd(stdout, stderr),
		newServeCmd(stdout, stderr),
		newDemoCmd(stdout, stderr),
		newReportCmd(stdout, stderr),
		newCompareCmd(stdout, stderr),
		newMergeCmd(stdout, stderr),
		newFindMaxCmd(stdout, stderr),
	)
	completeEnums(root)
	return root
}
