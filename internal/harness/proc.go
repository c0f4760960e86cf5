package harness

import (
	"syscall"
	"time"

	"github.com/prometheus/procfs"
)

// These read Linux's /proc through procfs; elsewhere they return an error.

// CPUSeconds is a process's user+system CPU time.
func CPUSeconds(pid int) (float64, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, err
	}
	st, err := p.Stat()
	if err != nil {
		return 0, err
	}
	return st.CPUTime(), nil
}

// Memory is a process's resident memory now and at its peak, in bytes.
type Memory struct {
	RSS, PeakRSS uint64 // VmRSS, VmHWM
}

// ReadMemory reads VmRSS and VmHWM of /proc/<pid>/status.
func ReadMemory(pid int) (Memory, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return Memory{}, err
	}
	st, err := p.NewStatus()
	if err != nil {
		return Memory{}, err
	}
	return Memory{RSS: st.VmRSS, PeakRSS: st.VmHWM}, nil
}

// SelfCPUSeconds is this process's user+system CPU time (getrusage, finer
// than the clock ticks of /proc).
func SelfCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
