# The monitoring sidecar's image: built with the SDK, run on the chiseled ASP.NET runtime (no shell, no package
# manager, non-root user 1654 "app"). Build: docker build -t mlmonitoring/sidecar:0.1.0 .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY protos/ protos/
COPY src/MlMonitoring.Sidecar/ src/MlMonitoring.Sidecar/
RUN dotnet publish src/MlMonitoring.Sidecar/MlMonitoring.Sidecar.csproj -c Release -o /app --no-self-contained

FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled AS runtime
WORKDIR /app
COPY --from=build /app ./
USER 1654
EXPOSE 50051 9464
ENV DOTNET_gcServer=0 \
    DOTNET_GCHeapHardLimitPercent=0x4B
ENTRYPOINT ["dotnet", "MlMonitoring.Sidecar.dll"]
