package collector

import "github.com/antspace-exporter/antspace_exporter/device/payload"

// Convert decodes recorded coolerState and minerInfo answers and converts
// them like Probe does, without the network (for benchmarks).
func Convert(cooler, miners []byte, s Settings) *Result {
	r := &Result{Type: s.Type, minerSkipped: miners == nil}
	var env payload.Envelope
	if err := payload.DecodeEnvelope(cooler, &env); err != nil {
		r.Err = err
		return r
	}
	r.Err = r.convertCooler(env.ParamsObject(), s)
	if miners != nil {
		var menv payload.Envelope
		if r.MinerErr = payload.DecodeEnvelope(miners, &menv); r.MinerErr == nil {
			r.MinerErr = r.convertMiners(menv.ParamsObject(), s)
		}
	}
	return r
}
