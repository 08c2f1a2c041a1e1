# The monitoring sidecar's image: the native AOT executable and the few shared libraries it needs, on an empty base.
# No shell, no package manager, no .NET runtime; runs as user 1654 ("app"), with a read-only root filesystem and
# /tmp writable (see k8s/model-server.yaml).
#
#   docker build -t <registry>/mlmonitoring/sidecar:0.1.0 .
#
# ./build.sh builds the same image without pulling anything: it publishes on the host with the same command and
# hands the root filesystem in place of the first stage (buildah build --build-context rootfs=...).

# Publishes the native executable and assembles the root filesystem in /rootfs.
FROM mcr.microsoft.com/dotnet/sdk:10.0-noble-aot AS rootfs
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY protos/ protos/
COPY src/MlMonitoring.Sidecar/ src/MlMonitoring.Sidecar/
COPY image/ image/
RUN dotnet publish src/MlMonitoring.Sidecar -c Release -r linux-x64 -o /publish \
 && bash image/assemble-rootfs.sh /publish /rootfs

FROM scratch
COPY --from=rootfs /rootfs /
USER 1654:1654
WORKDIR /app
# .NET finds the CA bundle through OpenSSL, whose default folders an empty base does not have. The collector's
# settings are compiled into the executable (its project file), so the image and the bare executable behave alike.
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
EXPOSE 50051 9464
ENTRYPOINT ["/app/MlMonitoring.Sidecar"]
