# A static binary on an empty image{{if .Dir}}, on PATH{{end}}.
FROM scratch
COPY {{.Binary}} {{.Dir}}/{{.Binary}}
{{- if .Dir}}
ENV PATH={{.Dir}}
{{- end}}
{{- if .Entrypoint}}
ENTRYPOINT ["{{.Dir}}/{{.Binary}}"]
{{- end}}
