package cim

import "testing"

func TestFieldNames(t *testing.T) {
	escu := []string{"action", "dest", "original_file_name", "parent_process", "parent_process_exec",
		"parent_process_guid", "parent_process_id", "parent_process_name", "parent_process_path", "process",
		"process_exec", "process_guid", "process_hash", "process_id", "process_integrity_level", "process_name",
		"process_path", "user", "user_id", "vendor_product"}
	for i, name := range escu {
		if got := Field(i).String(); got != name {
			t.Errorf("Field(%d).String() = %q, want %q (ESCU output-field order)", i, got, name)
		}
	}
	seen := map[string]bool{}
	for f := Field(0); f < NumFields; f++ {
		n := f.String()
		if n == "" || seen[n] {
			t.Errorf("field %d: empty or duplicate name %q", f, n)
		}
		seen[n] = true
	}
	if NumFields != 22 {
		t.Errorf("NumFields = %d, want 22", NumFields)
	}
}

func TestFieldByName(t *testing.T) {
	tests := []struct {
		name string
		want Field
		ok   bool
	}{
		{"parent_process_name", ParentProcessName, true},
		{"Processes.parent_process_name", ParentProcessName, true},
		{"process", ProcessCommandLine, true},
		{"Processes.process", ProcessCommandLine, true},
		{"process_current_directory", ProcessCurrentDirectory, true},
		{"parent_user", ParentUser, true},
		{"Parent_Process_Name", 0, false},
		{"Processes.", 0, false},
		{"", 0, false},
		{"_time", 0, false},
		{"Endpoint.Processes.dest", 0, false},
	}
	for _, tt := range tests {
		got, ok := FieldByName(tt.name)
		if ok != tt.ok || got != tt.want {
			t.Errorf("FieldByName(%q) = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	for f := Field(0); f < NumFields; f++ {
		if g, ok := FieldByName(f.String()); !ok || g != f {
			t.Errorf("round trip of %v failed: %v %v", f, g, ok)
		}
	}
}

func TestFieldStringOutOfRange(t *testing.T) {
	for _, tt := range []struct {
		f    Field
		want string
	}{{-1, "Field(-1)"}, {NumFields, "Field(22)"}, {1000, "Field(1000)"}} {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("Field(%d).String() = %q, want %q", int(tt.f), got, tt.want)
		}
	}
}

func TestProcessGetReset(t *testing.T) {
	var p Process
	p.SetString(Dest, "host")
	p.Set(User, []byte("CORP\\jdoe"))
	p.Time, p.HasTime, p.Source, p.Record = 1.5, true, "f", 3
	if p.Get(Dest) != "host" || p.Get(User) != "CORP\\jdoe" || p.Get(-1) != "" || p.Get(NumFields) != "" {
		t.Fatalf("Get: %q %q %q %q", p.Get(Dest), p.Get(User), p.Get(-1), p.Get(NumFields))
	}
	c := p.Clone()
	p.Reset()
	if p.HasTime || p.Source != "" || p.Record != 0 || p.Get(Dest) != "" || len(p.buf) != 0 {
		t.Fatalf("Reset left %+v", p)
	}
	p.SetString(Dest, "XXXX") // reuses the storage: the clone must not see it
	if c.Get(Dest) != "host" || c.Get(User) != "CORP\\jdoe" || c.Time != 1.5 || c.Record != 3 {
		t.Fatalf("Clone: %+v", c)
	}
	if n := testing.AllocsPerRun(100, func() { p.Reset(); p.SetString(Dest, "host") }); n != 0 {
		t.Fatalf("Reset and SetString allocate %v times", n)
	}
}

func TestFieldByNameAllocs(t *testing.T) {
	n := testing.AllocsPerRun(100, func() { FieldByName("Processes.parent_process_name") })
	if n != 0 {
		t.Fatalf("FieldByName allocates %v times", n)
	}
}
