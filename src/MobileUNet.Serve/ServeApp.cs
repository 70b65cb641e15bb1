using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MobileUNet.Serve;

/// <summary>
/// `mobileunet serve`: one Kestrel host with the segment API, health, metrics, the OpenAPI document, the model
/// export for the browser, and the pages. Built here and run by the CLI; tests build the same app over
/// TestServer through <paramref name="configure"/>.
/// </summary>
public static class ServeApp
{
    /// <summary>Pages and the vendored onnxruntime-web, copied beside the assembly.</summary>
    public static string WebRoot => Path.Combine(AppContext.BaseDirectory, "wwwroot");

    public static WebApplication Build(ServeOptions options, Action<WebApplicationBuilder>? configure = null)
    {
        options.Validate();
        // The model loads before the host exists: a bad model file fails the command, not the first request.
        var (onnx, source) = options.Model.OnnxBytes();
        var segmenter = new BatchSegmenter(onnx, source, options.MaxBatch, options.Runtime, options.Threshold);
        try { return Build(options, segmenter, configure); }
        catch
        {
            segmenter.Dispose();
            throw;
        }
    }

    static WebApplication Build(ServeOptions options, BatchSegmenter segmenter, Action<WebApplicationBuilder>? configure)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(Math.Min(30, options.RequestTimeout.TotalSeconds));
            if (options.Host == "localhost") kestrel.ListenLocalhost(options.Port);
            else kestrel.Listen(IPAddress.Parse(options.Host), options.Port);
        });
        builder.Services.Configure<FormOptions>(form => form.MultipartBodyLengthLimit = options.MaxBodyBytes);
        // SIGTERM: in-flight requests get up to their own timeout to finish before the host gives up on them.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.RequestTimeout + TimeSpan.FromSeconds(5));
        if (options.CorsOrigins.Count > 0)
            builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy =>
                policy.WithOrigins([.. options.CorsOrigins]).WithMethods("GET", "POST").WithHeaders("Content-Type", "X-API-Key", "Authorization")));
        var metrics = new ServeMetrics(options.MaxBatch);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(metrics);
        builder.Services.AddSingleton(segmenter);
        builder.Services.AddSingleton(sp => new MicroBatcher(segmenter, metrics, TimeSpan.FromMilliseconds(options.MaxWaitMs), options.MaxQueue));
        builder.Services.AddSingleton<SegmentService>();
        builder.Services.AddSingleton<Draining>();
        builder.Services.AddSingleton<BenchExportCache>();
        builder.Services.AddHostedService<DrainOnStop>();
        configure?.Invoke(builder);

        var app = builder.Build();
        var draining = app.Services.GetRequiredService<Draining>();
        app.Lifetime.ApplicationStopping.Register(draining.Start);
        var segment = app.Services.GetRequiredService<SegmentService>();

        app.Use(async (context, next) =>
        {
            long started = Stopwatch.GetTimestamp();
            var route = Routes.Label(context.Request.Path.Value);
            // Cross-origin isolation lets the camera page use WebAssembly threads (SharedArrayBuffer).
            context.Response.Headers["Cross-Origin-Opener-Policy"] = "same-origin";
            context.Response.Headers["Cross-Origin-Embedder-Policy"] = "require-corp";
            context.Response.Headers["X-Content-Type-Options"] = "nosniff";
            try { await next(context); }
            finally { metrics.CountRequest(route, context.Response.StatusCode, Stopwatch.GetElapsedTime(started)); }
        });
        app.Use(async (context, next) =>
        {
            if (draining.IsOn && context.Request.Path.StartsWithSegments("/v1"))
            {
                context.Response.Headers.RetryAfter = "5";
                context.Response.Headers.Connection = "close";
                await Text(context, StatusCodes.Status503ServiceUnavailable, "the service is shutting down.");
                return;
            }
            await next(context);
        });
        if (options.CorsOrigins.Count > 0) app.UseCors();
        if (options.ApiKey is { } key)
        {
            var expected = Encoding.UTF8.GetBytes(key);
            app.Use(async (context, next) =>
            {
                if ((context.Request.Path.StartsWithSegments("/v1") || context.Request.Path.StartsWithSegments(Routes.Metrics))
                    && !HttpMethods.IsOptions(context.Request.Method) && !KeyMatches(context.Request, expected))
                {
                    context.Response.Headers.WWWAuthenticate = "Bearer";
                    await Text(context, StatusCodes.Status401Unauthorized, "missing or wrong API key (header X-API-Key or Authorization: Bearer).");
                    return;
                }
                await next(context);
            });
        }

        app.MapPost(Routes.Segment, async context =>
        {
            metrics.EnterRequest();
            try { await segment.HandleAsync(context); }
            catch (ServeError e) when (!context.Response.HasStarted) { await Text(context, e.Status, e.Message); }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested) { context.Response.StatusCode = 499; }
            finally { metrics.LeaveRequest(); }
        });
        app.MapGet(Routes.Health, (HttpContext context) => draining.IsOn
            ? Results.Json(new { status = "draining" }, statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Json(new { status = "ok", model = segmenter.Spec.Label }));
        app.MapGet(Routes.Metrics, () => Results.Text(metrics.ToPrometheusText(), "text/plain; version=0.0.4; charset=utf-8"));
        app.MapGet(Routes.OpenApi, () => Results.Text(OpenApiDocument.Json(options), "application/json"));
        app.MapGet(Routes.ModelInfo, () => Results.Text(SegmentService.ModelInfo(segmenter).ToJsonString(), "application/json"));
        app.MapGet(Routes.Model, () => Results.Bytes(segmenter.OnnxBytes, "application/octet-stream", "model.onnx"));
        BenchEndpoints.Map(app, options);
        MapPages(app);
        return app;
    }

    static void MapPages(WebApplication app)
    {
        if (!Directory.Exists(WebRoot)) return;
        var files = new PhysicalFileProvider(WebRoot);
        var types = new FileExtensionContentTypeProvider();
        types.Mappings[".mjs"] = "text/javascript";
        types.Mappings[".wasm"] = "application/wasm";
        // Vendored files kept gzipped (vendor/ort/README.md) go out as stored, with Content-Encoding: gzip.
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path.Value;
            if (path is not null && path.StartsWith("/vendor/", StringComparison.Ordinal) && !files.GetFileInfo(path).Exists
                && files.GetFileInfo(path + ".gz") is { Exists: true, PhysicalPath: { } gz } && types.TryGetContentType(path, out var type))
            {
                context.Response.ContentType = type;
                context.Response.Headers.CacheControl = "public, max-age=86400";
                if (context.Request.Headers.AcceptEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase))
                {
                    context.Response.Headers.ContentEncoding = "gzip";
                    await context.Response.SendFileAsync(gz);
                }
                else
                {
                    await using var inflated = new System.IO.Compression.GZipStream(File.OpenRead(gz), System.IO.Compression.CompressionMode.Decompress);
                    await inflated.CopyToAsync(context.Response.Body);
                }
                return;
            }
            await next(context);
        });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = files, ContentTypeProvider = types });
        app.MapGet(Routes.Home, () => Results.File(Path.Combine(WebRoot, "index.html"), "text/html; charset=utf-8"));
        app.MapGet(Routes.Camera, () => Results.File(Path.Combine(WebRoot, "camera.html"), "text/html; charset=utf-8"));
        app.MapGet(Routes.BenchPage, () => Results.File(Path.Combine(WebRoot, "bench.html"), "text/html; charset=utf-8"));
    }

    static bool KeyMatches(HttpRequest request, byte[] expected)
    {
        string? given = request.Headers["X-API-Key"];
        if (given is null && request.Headers.Authorization.ToString() is { } auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            given = auth["Bearer ".Length..].Trim();
        // Constant time: the comparison must not tell an attacker how many leading bytes were right.
        return given is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), expected);
    }

    internal static Task Text(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(message + "\n");
    }

    /// <summary>
    /// Holds the host's stop until in-flight segment requests are done. <see cref="IHostedLifecycleService.StoppingAsync"/>
    /// runs before any hosted service stops, the web server included, so Kestrel keeps listening meanwhile and a
    /// request arriving during the drain is answered 503 by the middleware instead of finding the port closed.
    /// </summary>
    sealed class DrainOnStop(ServeMetrics metrics, Draining draining) : IHostedLifecycleService
    {
        public async Task StoppingAsync(CancellationToken cancellationToken)
        {
            draining.Start();
            try
            {
                while (metrics.InFlight > 0) await Task.Delay(20, cancellationToken);
            }
            catch (OperationCanceledException) { }
        }

        public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Set once the host begins to stop (SIGTERM): new API requests get 503 while in-flight ones finish.</summary>
    sealed class Draining
    {
        volatile bool on;
        public bool IsOn => on;
        public void Start() => on = true;
    }
}
