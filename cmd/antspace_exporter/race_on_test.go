//go:build race

package main

// raceEnabled: the race detector adds allocations of its own.
const raceEnabled = true
