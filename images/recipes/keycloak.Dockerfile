# Keycloak's Quarkus distribution on Debian's Java 21, built once for production mode (`start
# --optimized`): PostgreSQL, health and metrics on the management port.
FROM {{.Base}}
ADD keycloak.tar /opt/
RUN useradd --uid 1000 --home-dir /opt/keycloak --no-create-home keycloak \
 && mkdir -p /opt/keycloak/data \
 && /opt/keycloak/bin/kc.sh build --db=postgres --health-enabled=true --metrics-enabled=true \
 && chown -R 1000:1000 /opt/keycloak
USER 1000
WORKDIR /opt/keycloak
ENTRYPOINT ["/opt/keycloak/bin/kc.sh"]
