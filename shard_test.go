package main

import (
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"volley/bench"
	"volley/bench/benchtest"
	"volley/internal/loadtest"
	"volley/stats"
)

// TestShardedRunMergesToThePlan runs one plan as three volley processes
// (the commands the README shows), merges their results, and compares with
// the target's own count, its arrivals over time, and a single-process run.
func TestShardedRunMergesToThePlan(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four 2-second loads; skipped with -short")
	}
	bin := needBinary(t)
	lat, _ := bench.ParseLatency("uniform:1ms-3ms")
	srv := benchtest.Start(t, bench.Config{Latency: lat})
	dir := t.TempDir()
	const shards = 3
	files := make([]string, shards)
	for k := range shards {
		files[k] = filepath.Join(dir, "shard-"+string(rune('0'+k))+".json")
	}
	// The arrival check is a timing check: a busy machine may miss it once.
	loadtest.Retry(t, 3, func(miss func(string, ...any)) {
		srv.Reset()
		startAt := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
		var wg sync.WaitGroup
		outs := make([][]byte, shards)
		errs := make([]error, shards)
		for k := range shards {
			wg.Go(func() {
				cmd := exec.Command(bin, "run", "--shard", string(rune('0'+k))+"/3", "--start-at", startAt,
					"-r", "600", "-d", "2s", "-c", "10", "-q", "--out", "json="+files[k], srv.URL())
				outs[k], errs[k] = cmd.CombinedOutput()
			})
		}
		wg.Wait()
		for k := range shards {
			if errs[k] != nil {
				t.Fatalf("shard %d: %v\n%s", k, errs[k], outs[k])
			}
		}
		st := srv.Stats()
		if st.Total != 1200 {
			t.Fatalf("the target counted %d requests, want the plan's 1200", st.Total)
		}
		// 600/s is 60 per 100 ms; the interleaved shards keep every full
		// bucket near that.
		for i, n := range st.Arrivals[:len(st.Arrivals)-1] {
			if n < 42 || n > 78 {
				miss("arrivals in 100 ms bucket %d = %d, want about 60 (all %v)", i, n, st.Arrivals)
				break
			}
		}
	})

	merged := filepath.Join(dir, "merged.json")
	res := runCLI(t, append([]string{"merge"}, append(files, "--out", "json="+merged, "--threshold", "requests==1200")...)...)
	if res.code != 0 {
		t.Fatalf("merge exit %d: %s", res.code, res.stderr)
	}
	m := readResult(t, merged)
	if m.Requests.Total != 1200 || m.Parts != 3 || m.Shard != "" {
		t.Errorf("merged total %d parts %d shard %q, want 1200, 3, none", m.Requests.Total, m.Parts, m.Shard)
	}
	if math.Abs(m.Rate.Target-600) > 0.001 || math.Abs(m.Rate.Achieved-600) > 12 {
		t.Errorf("merged rate target %v achieved %v, want 600", m.Rate.Target, m.Rate.Achieved)
	}

	// The same plan in one process.
	srv.Reset()
	single := filepath.Join(dir, "single.json")
	if r := runCLI(t, "run", "-r", "600", "-d", "2s", "-c", "30", "-q", "--out", "json="+single, srv.URL()); r.code != 0 {
		t.Fatalf("single run exit %d: %s", r.code, r.stderr)
	}
	s := readResult(t, single)
	if s.Requests.Total != m.Requests.Total {
		t.Errorf("single process sent %d, shards %d", s.Requests.Total, m.Requests.Total)
	}
	// Latency is uniform 1-3 ms either way: medians agree within noise
	// (three processes sharing a small machine's cores add some).
	if d := math.Abs(s.Latency.Corrected.P50 - m.Latency.Corrected.P50); d > 1 {
		t.Errorf("corrected p50: single %.2f ms, merged shards %.2f ms", s.Latency.Corrected.P50, m.Latency.Corrected.P50)
	}

	// Merging refuses what is not one whole plan.
	for _, tc := range []struct {
		name  string
		files []string
		want  string
	}{
		{"missing", files[:2], "missing shard(s) 2/3"},
		{"duplicate", []string{files[0], files[1], files[1]}, "duplicate shard 1/3"},
		{"other plan", []string{files[0], files[1], files[2], single}, "is not a shard"},
	} {
		r := runCLI(t, append([]string{"merge"}, tc.files...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("merge %s: exit %d, stderr %q; want 2 and %q", tc.name, r.code, r.stderr, tc.want)
		}
	}
}

func TestCheckShardsPlanMismatch(t *testing.T) {
	a := &stats.Result{Shard: "0/2", Plan: "sha256:aaaa"}
	b := &stats.Result{Shard: "1/2", Plan: "sha256:bbbb"}
	err := stats.CheckShards([]*stats.Result{a, b}, []string{"a.json", "b.json"})
	if err == nil || !strings.Contains(err.Error(), "not shards of the same plan") {
		t.Errorf("CheckShards with two plans = %v", err)
	}
}

// TestDeployManifests parses the deployment recipes and checks the fields
// that make them work.
func TestDeployManifests(t *testing.T) {
	var job struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Spec       struct {
			CompletionMode string `yaml:"completionMode"`
			Completions    int    `yaml:"completions"`
			Parallelism    int    `yaml:"parallelism"`
			Template       struct {
				Spec struct {
					RestartPolicy string `yaml:"restartPolicy"`
					Containers    []struct {
						Args []string `yaml:"args"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	readYAML(t, "deploy/kubernetes/job.yaml", &job)
	if job.APIVersion != "batch/v1" || job.Kind != "Job" || job.Spec.CompletionMode != "Indexed" {
		t.Errorf("job.yaml: %s %s completionMode %q, want batch/v1 Job Indexed", job.APIVersion, job.Kind, job.Spec.CompletionMode)
	}
	if job.Spec.Template.Spec.RestartPolicy != "Never" || len(job.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("job.yaml: restartPolicy %q, %d containers", job.Spec.Template.Spec.RestartPolicy, len(job.Spec.Template.Spec.Containers))
	}
	args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " ")
	wantShard := "--shard=$(JOB_COMPLETION_INDEX)/" + strconv.Itoa(job.Spec.Completions)
	if !strings.Contains(args, wantShard) || !strings.Contains(args, "--start-at=") || job.Spec.Parallelism != job.Spec.Completions {
		t.Errorf("job.yaml args %q: want %s, --start-at, and parallelism = completions", args, wantShard)
	}
	// The container's arguments are a valid volley command line.
	a := job.Spec.Template.Spec.Containers[0].Args
	a = append([]string(nil), a...)
	for i, s := range a {
		a[i] = strings.NewReplacer("$(JOB_COMPLETION_INDEX)", "1", "$(START_AT)", "+1s").Replace(s)
	}
	if a[0] != "run" {
		t.Fatalf("job.yaml args start with %q, want run", a[0])
	}
	cmd := newRunCmd(io.Discard, io.Discard)
	if err := cmd.ParseFlags(a[1:]); err != nil {
		t.Errorf("job.yaml args do not parse as volley run flags: %v", err)
	} else if sh, _ := cmd.Flags().GetString("shard"); sh != "1/4" {
		t.Errorf("job.yaml: shard %q, want 1/4", sh)
	} else if at, _ := cmd.Flags().GetString("start-at"); at != "+1s" {
		t.Errorf("job.yaml: start-at %q, want the START_AT variable", at)
	}

	var wf struct {
		Jobs map[string]struct {
			Needs    any `yaml:"needs"`
			Strategy struct {
				Matrix struct {
					Shard []int `yaml:"shard"`
				} `yaml:"matrix"`
			} `yaml:"strategy"`
			Steps []struct {
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	readYAML(t, "deploy/github-actions/volley-sharded.yml", &wf)
	shard, merge := wf.Jobs["shard"], wf.Jobs["merge"]
	if len(shard.Strategy.Matrix.Shard) != 4 {
		t.Errorf("workflow: matrix of %v shards, want 4", shard.Strategy.Matrix.Shard)
	}
	var runs, merges string
	for _, s := range shard.Steps {
		runs += s.Run
	}
	for _, s := range merge.Steps {
		merges += s.Run
	}
	if !strings.Contains(runs, "--shard ${{ matrix.shard }}/4") || !strings.Contains(runs, "--start-at") {
		t.Errorf("workflow shard job does not run volley with --shard and --start-at: %q", runs)
	}
	if !strings.Contains(merges, "volley merge") || !strings.Contains(merges, "--threshold") {
		t.Errorf("workflow merge job does not merge with thresholds: %q", merges)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
