// Package infra holds what deploys the agent: a kustomize base for the
// DaemonSet (agent/), overlays (overlays/), the agent's IAM policy and trust
// policies (iam/), and the image builder (image/). It has no Go code of its
// own; its tests render the manifests with kustomize, decode them strictly
// into the Kubernetes API types, and check the IAM policy against the AWS
// calls the agent's code makes.
package infra
