# The release image (goreleaser dockers_v2, .goreleaser.yaml): the plugin
# binary built by goreleaser for TARGETPLATFORM, with git, which diff and
# the --pr/--comment flows run. Not for building from source.
FROM alpine:3.22
RUN apk add --no-cache git ca-certificates && adduser -D -u 10001 gitops
ARG TARGETPLATFORM
COPY $TARGETPLATFORM/kubectl-gitops /usr/local/bin/kubectl-gitops
USER gitops
ENTRYPOINT ["kubectl-gitops"]
