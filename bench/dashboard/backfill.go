//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// blockSpan is the span of the backfilled raw blocks: promtool writes one
// block per aligned 6 h (--max-block-duration), so the 6 h range lands in
// two blocks that Prometheus does not compact again soon.
const blockSpan = 6 * time.Hour

// backfillOpenMetrics writes the history of ss in OpenMetrics files, one
// per aligned block span so that promtool parses each file twice only (it
// reads its whole input once per block), and turns each into blocks in
// dataDir. It returns the number of samples.
func backfillOpenMetrics(promtool, dir, dataDir string, ss []series, from, to time.Time, step time.Duration) (int, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return 0, err
	}
	total := 0
	span := blockSpan.Milliseconds()
	for ws := (from.UnixMilli() / span) * span; ws < to.UnixMilli(); ws += span {
		wFrom := time.UnixMilli(max(ws, from.UnixMilli()))
		wTo := time.UnixMilli(min(ws+span, to.UnixMilli()))
		file := filepath.Join(dir, "history.om")
		f, err := os.Create(file)
		if err != nil {
			return total, err
		}
		start := time.Now()
		n, err := writeOpenMetrics(f, ss, wFrom, wTo, step)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return total, err
		}
		fi, _ := os.Stat(file)
		gen := time.Since(start)
		start = time.Now()
		out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "--max-block-duration="+blockSpan.String(), "--quiet",
			"openmetrics", file, dataDir).CombinedOutput()
		if err != nil {
			return total, fmt.Errorf("promtool tsdb create-blocks-from openmetrics: %w\n%s", err, out)
		}
		fmt.Printf("  %s .. %s: %d samples, %.1f GB of OpenMetrics written in %s, promtool %s\n", wFrom.Format(time.TimeOnly), wTo.Format(time.TimeOnly),
			n, float64(fi.Size())/1e9, gen.Round(time.Second), time.Since(start).Round(time.Second))
		total += n
		if err := os.Remove(file); err != nil {
			return total, err
		}
	}
	return total, nil
}

// backfillRules backfills the recording rules with promtool, level by level
// (a rule that reads another rule's series after that rule's blocks are in
// place: promtool evaluates a run's rules against the server's data only),
// moving each level's blocks into Prometheus' data directory and waiting
// until Prometheus has loaded them.
func backfillRules(promtool string, prom *prometheus, dir, dataDir string, rs *ruleSet, from, to time.Time, step time.Duration) error {
	mid := from.Add(to.Sub(from) / 2)
	for i, names := range rs.levels() {
		file := filepath.Join(dir, fmt.Sprintf("rules-%d.yml", i))
		if err := os.WriteFile(file, rs.ruleFile(names), 0o644); err != nil {
			return err
		}
		outDir := filepath.Join(dir, fmt.Sprintf("rules-%d", i))
		start := time.Now()
		out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "rules", "--url", prom.url,
			"--start", strconv.FormatInt(from.Unix(), 10), "--end", strconv.FormatInt(to.Unix(), 10),
			"--eval-interval", step.String(), "--output-dir", outDir, file).CombinedOutput()
		if err != nil {
			return fmt.Errorf("promtool tsdb create-blocks-from rules (level %d): %w\n%s", i, err, out)
		}
		blocks, err := os.ReadDir(outDir)
		if err != nil {
			return err
		}
		for _, b := range blocks {
			if err := os.Rename(filepath.Join(outDir, b.Name()), filepath.Join(dataDir, b.Name())); err != nil {
				return err
			}
		}
		fmt.Printf("  level %d (%s): %d blocks in %s\n", i, strings.Join(names, ", "), len(blocks), time.Since(start).Round(time.Second))
		// Prometheus loads new blocks within its reload interval (1 min).
		if err := prom.WaitUntil(5*time.Minute, "the level's backfilled rules visible", func() bool {
			for _, r := range names {
				v, err := prom.scalar("count("+r+")", mid)
				if err != nil || v == 0 {
					return false
				}
			}
			return true
		}); err != nil {
			return err
		}
	}
	return nil
}

// settle waits until Prometheus has loaded and compacted the backfilled
// blocks (block count and compactions unchanged for 75 s, longer than its
// block reload interval), at most 15 minutes.
func settle(prom *prometheus) error {
	state := func() string {
		var s []string
		for _, m := range []string{"prometheus_tsdb_blocks_loaded", "prometheus_tsdb_compactions_total", "prometheus_tsdb_vertical_compactions_total", "prometheus_tsdb_compactions_failed_total"} {
			v, err := prom.self(m)
			if err != nil {
				return "error " + err.Error()
			}
			s = append(s, strconv.FormatFloat(v, 'f', -1, 64))
		}
		return strings.Join(s, " ")
	}
	last, since := state(), time.Now()
	deadline := time.Now().Add(15 * time.Minute)
	for time.Now().Before(deadline) {
		time.Sleep(15 * time.Second)
		s := state()
		if s != last {
			last, since = s, time.Now()
			continue
		}
		if time.Since(since) >= 75*time.Second {
			fmt.Printf("Prometheus settled (blocks, compactions, vertical, failed: %s)\n", s)
			return nil
		}
	}
	fmt.Printf("Prometheus still compacting after 15 minutes (%s); measuring anyway\n", last)
	return nil
}
