module github.com/kubectl-gitops/kubectl-gitops/sandbox

go 1.26.0
