package mock

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAdminAPI(t *testing.T) {
	s, clk := start(t, Options{Type: Immersion, Name: "imm-1"})
	call := func(method, path, body string) response {
		t.Helper()
		var r response
		if body == "" {
			r = do(t, method, s.URL()+path, nil)
		} else {
			r = do(t, method, s.URL()+path, strings.NewReader(body))
		}
		return r
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
		errContains        string
		after              func(t *testing.T)
	}{
		{"POST", "/mock/fault?name=power_distribution_Fault&on=true", "", 200, "", func(t *testing.T) {
			if s.State()["power_distribution_Fault"] != true {
				t.Error("fault not set")
			}
		}},
		{"POST", "/mock/fault?name=power_distribution_Fault&on=false", "", 200, "", func(t *testing.T) {
			if s.State()["power_distribution_Fault"] != false {
				t.Error("fault not cleared")
			}
		}},
		{"POST", "/mock/fault?name=fan1_fault&on=true", "", 400, "not a fault flag of immersion containers", nil},
		{"POST", "/mock/fault?name=leakage_fault&on=maybe", "", 400, "must be true or false", nil},
		{"GET", "/mock/fault?name=leakage_fault&on=true", "", 405, "not allowed", nil},
		{"POST", "/mock/faults?on=true", "", 200, "", func(t *testing.T) {
			for _, f := range wantImmersionBools[18:] {
				if s.State()[f] != true {
					t.Errorf("%s not set", f)
				}
			}
		}},
		{"POST", "/mock/faults?on=false", "", 200, "", func(t *testing.T) {
			if s.State()["lever_low"] != false {
				t.Error("faults not cleared")
			}
		}},
		{"POST", "/mock/faults", "", 400, "on must be", nil},
		{"POST", "/mock/set", `{"disconnect":true,"supply_liquid_set_temp":40,"out_temp":"n/a"}`, 200, "", func(t *testing.T) {
			st := s.State()
			if st["disconnect"] != true || st["supply_liquid_set_temp"] != 40.0 || st["out_temp"] != "n/a" {
				t.Errorf("set not applied: %v %v %v", st["disconnect"], st["supply_liquid_set_temp"], st["out_temp"])
			}
		}},
		{"POST", "/mock/set", `[1,2]`, 400, "JSON object", nil},
		{"POST", "/mock/set", `{"a":1} {}`, 400, "trailing", nil},
		{"POST", "/mock/misbehave", `{"kind":"slow","operation":"minerInfo","count":3,"delay":"2s"}`, 200, "", func(t *testing.T) {
			m := s.Misbehaviours()
			if len(m) != 1 || m[0] != (Misbehaviour{Kind: Slow, Operation: OpMinerInfo, Count: 3, Delay: 2 * time.Second}) {
				t.Errorf("queued %+v", m)
			}
		}},
		{"DELETE", "/mock/misbehave", "", 200, "", func(t *testing.T) {
			if m := s.Misbehaviours(); len(m) != 0 {
				t.Errorf("queue %v", m)
			}
		}},
		{"POST", "/mock/misbehave", `{"kind":"explode"}`, 400, `unknown misbehaviour kind "explode"`, nil},
		{"POST", "/mock/misbehave", `{"kind":"slow","delay":"soon"}`, 400, "delay must be a duration", nil},
		{"POST", "/mock/misbehave", `{"kind":"hang","operation":"reboot"}`, 400, "unknown operation", nil},
		{"POST", "/mock/misbehave", `{"kind":"hang","colour":"red"}`, 400, "unknown field", nil},
		{"POST", "/mock/misbehave", `{"kind":"hang","count":-2}`, 400, "negative count", nil},
		{"POST", "/mock/clock/advance?d=30m", "", 200, "", func(t *testing.T) {
			if got := clk.Now(); !got.Equal(epoch.Add(30 * time.Minute)) {
				t.Errorf("clock at %v", got)
			}
		}},
		{"POST", "/mock/clock/advance?d=-1m", "", 400, "non-negative duration", nil},
		{"POST", "/mock/clock/advance", "", 400, "non-negative duration", nil},
		{"GET", "/mock/nothing", "", 404, "unknown admin endpoint", nil},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := call(tc.method, tc.path, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			var body map[string]string
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatalf("%v: %s", err, r.body)
			}
			if tc.status == 200 && body["status"] != "ok" {
				t.Errorf("body %s", r.body)
			}
			if tc.status != 200 && (body["status"] != "error" || !strings.Contains(body["error"], tc.errContains)) {
				t.Errorf("error body %s, want it to contain %q", r.body, tc.errContains)
			}
			if tc.after != nil {
				tc.after(t)
			}
		})
	}

	// Reads, writes and state.
	op(t, s, OpCoolerState)
	op(t, s, "setTemp&temp=41.5")
	op(t, s, OpReset)
	var reads map[string]int
	if err := json.Unmarshal(call("GET", "/mock/reads", "").body, &reads); err != nil || reads[OpCoolerState] != 1 || reads[OpMinerInfo] != 0 || reads[OpSetTemp] != 1 {
		t.Errorf("reads %v %v", reads, err)
	}
	var writes []struct{ Operation, Temp string }
	if err := json.Unmarshal(call("GET", "/mock/writes", "").body, &writes); err != nil || len(writes) != 2 ||
		writes[0].Operation != OpSetTemp || writes[0].Temp != "41.5" || writes[1].Operation != OpReset {
		t.Errorf("writes %+v %v", writes, err)
	}
	var st struct {
		Name      string         `json:"name"`
		Type      Type           `json:"type"`
		CoolingOn bool           `json:"cooling_on"`
		Params    map[string]any `json:"params"`
	}
	if err := json.Unmarshal(call("GET", "/mock/state", "").body, &st); err != nil {
		t.Fatal(err)
	}
	if st.Name != "imm-1" || st.Type != Immersion || !st.CoolingOn || st.Params["supply_liquid_set_temp"] != 41.5 {
		t.Errorf("state %+v", st)
	}
	if s.Reads(OpCoolerState) != 1 {
		t.Error("admin state counted as a read")
	}
}

func TestAdminClockNeedsManualClock(t *testing.T) {
	s, err := Start(Options{Type: HK3, Clock: realClock{}}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if r := do(t, http.MethodPost, s.URL()+"/mock/clock/advance?d=5m", nil); r.status != http.StatusConflict {
		t.Errorf("status %d: %s", r.status, r.body)
	}
}
