// Package harness is what the load harness (bench/) and the soak test
// (test/soak/) share: starting child processes that never outlive the
// harness, starting the exporter binary and waiting until it is ready,
// reading its /metrics, and reading a process's CPU time and memory through
// github.com/prometheus/procfs.
//
// Nothing in the exporter imports it.
package harness
