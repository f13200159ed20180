# A binary on a locally built Debian base image.
FROM {{.Base}}
COPY {{.Binary}} {{.Dir}}/{{.Binary}}
{{- if .Entrypoint}}
ENTRYPOINT ["{{.Dir}}/{{.Binary}}"]
{{- end}}
