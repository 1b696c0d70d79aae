// Package infra holds what deploys the agent: a kustomize base for the
// DaemonSet (agent/), overlays (overlays/), a Helm chart (helm/), the
// agent's IAM policy and trust policies (iam/), and the image builder
// (image/). It has no Go code of its own; its tests render the manifests
// with kustomize and Helm, decode them strictly into the Kubernetes API
// types, check that the two agree, and check the IAM policy against the AWS
// calls the agent's code makes.
package infra
