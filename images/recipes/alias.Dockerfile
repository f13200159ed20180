# A locally built image under the name of another role.
FROM {{.Base}}
