package fluxstatus

import (
	"bytes"
	"encoding/json"
	"time"
)

// State of a stage or of a whole release. The strings are part of the
// `-o json` schema (docs/trace.md): never rename them.
type State string

const (
	Done       State = "done"
	InProgress State = "in progress"
	Waiting    State = "waiting"
	Failed     State = "failed"
	NotNeeded  State = "not needed"
	// Forbidden: RBAC kept us from reading what this stage depends on.
	Forbidden State = "forbidden"
)

// Stage names, in the order a commit goes through them. Part of the schema.
const (
	StageSource        = "source"
	StageKustomization = "kustomization"
	StageChart         = "chart"
	StageRelease       = "release"
	StageRollout       = "rollout"
)

var stageTitles = map[string]string{
	StageSource:        "source fetched",
	StageKustomization: "manifests applied",
	StageChart:         "chart built",
	StageRelease:       "release upgraded",
	StageRollout:       "rollout complete",
}

// Time sources: where a timestamp was read from.
const (
	FromStatus = "status" // a status field of the object
	FromEvent  = "event"  // a Kubernetes event emitted by a Flux controller
	FromGit    = "git"    // the commit's committer date
)

// Stage is one step of one release.
type Stage struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	State State  `json:"state"`
	// Reason is a CamelCase machine-readable cause (Flux's condition reason
	// when there is one), Message the human sentence.
	Reason     string     `json:"reason,omitempty"`
	Message    string     `json:"message,omitempty"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	// Duration is FinishedAt-StartedAt, or now-StartedAt while in progress.
	DurationSeconds *float64 `json:"durationSeconds,omitempty"`
	// StartedFrom / FinishedFrom say where each timestamp was read
	// (status, event, git).
	StartedFrom  string   `json:"startedFrom,omitempty"`
	FinishedFrom string   `json:"finishedFrom,omitempty"`
	Evidence     Evidence `json:"evidence,omitempty"`
	// Workloads (rollout stage only) are the Deployments, StatefulSets and
	// DaemonSets of the release, each with its own state.
	Workloads []WorkloadRef `json:"workloads,omitempty"`
}

// WorkloadRef is one workload of a release as the rollout stage judged it.
type WorkloadRef struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Revision holds the new pod template: the ReplicaSet of a Deployment,
	// the ControllerRevision of a StatefulSet or DaemonSet.
	Revision  string `json:"revision,omitempty"`
	ReadyPods string `json:"readyPods"`
	State     State  `json:"state"`
	// Message says what the rollout waits for while it is not done.
	Message string `json:"message,omitempty"`
}

// KV is one piece of evidence.
type KV struct{ Key, Value string }

// Evidence keeps insertion order in the table and marshals as a JSON object.
type Evidence []KV

// MarshalJSON writes an object with keys in insertion order.
func (e Evidence) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range e {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv.Key)
		v, _ := json.Marshal(kv.Value)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Get returns the value for key.
func (e Evidence) Get(key string) string {
	for _, kv := range e {
		if kv.Key == key {
			return kv.Value
		}
	}
	return ""
}

func (e *Evidence) add(k, v string) {
	if v != "" {
		*e = append(*e, KV{k, v})
	}
}

// Diagnosis codes. Part of the schema; docs/trace.md lists them.
const (
	DiagChartVersionUnchanged = "ChartVersionUnchanged"
	DiagNotFetchedYet         = "NotFetchedYet"
	DiagPinned                = "PinnedBehind"
	DiagNotPushed             = "NotPushed"
	DiagNotOnBranch           = "NotOnBranch"
	DiagNotInCheckout         = "RevisionNotInCheckout"
	DiagSourceFailed          = "SourceFailed"
	DiagSuspended             = "Suspended"
	DiagApplyFailed           = "KustomizationFailed"
	DiagChartBuildFailed      = "ChartBuildFailed"
	DiagReleaseFailed         = "ReleaseFailed"
	DiagRetrying              = "ReleaseRetrying"
	DiagRolledBack            = "RolledBack"
	DiagRolloutStuck          = "RolloutStuck"
	DiagRolloutOnDelete       = "RolloutOnDelete"
	DiagNoWatchedPath         = "NoWatchedPathTouched"
	DiagForbidden             = "Forbidden"
	DiagNoRelease             = "NoHelmRelease"
)

// Diagnosis explains, in the user's words, why a release is not (yet) running
// the commit, and what to do.
type Diagnosis struct {
	Code    string `json:"code"`
	Stage   string `json:"stage,omitempty"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

// Release is the trace of one HelmRelease.
type Release struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Via says how the commit reaches it: "chart" (the repo is the chart's
	// source), "kustomization" (the repo holds its manifest), or "manual"
	// (the commit changed its manifest, applied by hand).
	Via   []string `json:"via"`
	State State    `json:"state"`
	// Deployed: the running release contains the commit.
	Deployed bool `json:"deployed"`
	// DeployedBy is the commit actually running when it is a later one that
	// contains the traced commit (superseded commit).
	DeployedBy *CommitRef  `json:"deployedBy,omitempty"`
	Stages     []Stage     `json:"stages"`
	Diagnoses  []Diagnosis `json:"diagnoses,omitempty"`
	Source     SourceRef   `json:"source"`
}

// SourceRef names a Flux source object.
type SourceRef struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	URL       string `json:"url,omitempty"`
	Revision  string `json:"revision,omitempty"`
}

// CommitRef is a commit as shown to the user.
type CommitRef struct {
	SHA     string `json:"sha"`
	Subject string `json:"subject,omitempty"`
}

// ForbiddenKind reports a kind RBAC kept us from reading.
type ForbiddenKind struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// Report is the whole trace of one commit.
type Report struct {
	SchemaVersion int             `json:"schemaVersion"`
	Revision      RevisionRef     `json:"revision"`
	GeneratedAt   time.Time       `json:"generatedAt"`
	State         State           `json:"state"`
	Deployed      bool            `json:"deployed"`
	Sources       []SourceRef     `json:"sources"`
	Releases      []Release       `json:"releases"`
	Diagnoses     []Diagnosis     `json:"diagnoses,omitempty"`
	Forbidden     []ForbiddenKind `json:"forbidden,omitempty"`
}

// RevisionRef is the traced commit.
type RevisionRef struct {
	Input       string    `json:"input"`
	SHA         string    `json:"sha"`
	Subject     string    `json:"subject,omitempty"`
	CommittedAt time.Time `json:"committedAt"`
}

// UnmarshalJSON reads an object back, keeping the document's key order.
func (e *Evidence) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return err
	}
	*e = nil
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return err
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return err
		}
		*e = append(*e, KV{Key: kt.(string), Value: v})
	}
	_, err := dec.Token()
	return err
}
