package checkers

import (
	"strings"
	"testing"

	"dpsim/reports"
	"dpsim/topology"
)

// DP-OFF-1 passes only when the search that finds nothing afterwards found every class of the
// tenant's things before the offboarding.
func TestLeftovers(t *testing.T) {
	found := []topology.Remnant{
		{Kind: "Namespace", Name: "acme"},
		{Kind: "PersistentVolumeClaim", Name: "data-kafka-0", Where: "acme"},
		{Kind: "VolumeDirectory", Name: "/var/local-path/pvc-1_acme_data-kafka-0", Where: "w1"},
		{Kind: "Backup", Name: "acme-s1"},
		topology.StorageRemnant("backups/acme-s1/velero-backup.json", "velero"),
		topology.StorageRemnant("kopia/acme/p1", "velero"),
		{Kind: topology.RemnantBucketObject, Name: "s1/0001", Where: "acme"},
		{Kind: "Schedule", Name: "acme-daily"},
	}
	without := func(class string) []topology.Remnant {
		var out []topology.Remnant
		for _, r := range found {
			if r.Class() != class {
				out = append(out, r)
			}
		}
		return out
	}
	tests := []struct {
		name          string
		before, after []topology.Remnant
		want          reports.Status
		says          string
	}{
		{"found before, gone after", found, nil, reports.Pass,
			"found namespace 1 before, 0 after; volumes 2 before, 0 after; backups 2 before, 0 after; repository objects 1 before, 0 after; bucket objects 1 before, 0 after; other 1 before, 0 after"},
		{"repository kept", found, found[5:6], reports.Fail, "1 RepositoryObject: kopia/acme/p1 (velero)"},
		{"a volume directory kept", found, found[2:3], reports.Fail, "volumes 2 before, 1 after"},
		{"kept, and the search was blind before", nil, found[:1], reports.Fail, "1 Namespace: acme"},
		{"the search found nothing before", nil, nil, reports.Error, "found no namespace, volumes, backups, repository objects, bucket objects of tenant acme before"},
		{"no bucket object found before", without(topology.ClassBucket), nil, reports.Error, "found no bucket objects of tenant acme"},
		{"no repository object found before", without(topology.ClassRepository), nil, reports.Error, "found no repository objects"},
		{"only others found before", found[7:], nil, reports.Error, "other 1 before, 0 after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Leftovers("acme", tt.before, tt.after)
			if v.Status != tt.want || !strings.Contains(v.Summary, tt.says) {
				t.Errorf("%s: %s, want %s saying %q", v.Status, v.Summary, tt.want, tt.says)
			}
		})
	}
}
