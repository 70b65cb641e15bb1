using System.Text.Json;
using MobileUNet.Benchmarks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace MobileUNet.Serve;

/// <summary>
/// The server's half of the /bench page: the plan (the CLI bench's grid and jobs), the untrained exports it times,
/// and the results it posts back, saved as a bench.json that `bench merge` reads beside this machine's.
/// </summary>
static class BenchEndpoints
{
    static readonly JsonSerializerOptions PlanJson = new(JsonSerializerDefaults.Web);

    public static void Map(WebApplication app, ServeOptions options)
    {
        var cache = app.Services.GetRequiredService<BenchExportCache>();

        app.MapGet(Routes.BenchPlan, context => Answer(context, () => Results.Json(BenchQuery.Plan(context.Request.Query), PlanJson).ExecuteAsync(context)));

        app.MapGet(Routes.BenchExport, context => Answer(context, async () =>
        {
            var key = BenchQuery.ExportKey(context.Request.Query);
            var graph = await cache.GetAsync(key, context.RequestAborted);
            context.Response.ContentType = "application/octet-stream";
            // The same parameters give the same graph while this server runs: the second backend's pass and a rerun
            // of the page come from the browser's cache instead of the network.
            context.Response.Headers.CacheControl = "private, max-age=3600";
            context.Response.ContentLength = graph.Length;
            await context.Response.Body.WriteAsync(graph, context.RequestAborted);
        }));

        app.MapPost(Routes.Bench, context => Answer(context, async () =>
        {
            string device = context.Request.Query["device"].ToString().Trim();
            string folder = BrowserBench.DeviceFolder(device);
            var body = await ReadBody(context, options);
            var run = BrowserBench.Parse(body);
            var doc = BrowserBench.ToDocument(run, device, DateTimeOffset.UtcNow);

            var root = Path.GetFullPath(options.BenchFolder);
            var path = Path.GetFullPath(Path.Combine(root, folder, "bench.json"));
            // DeviceFolder admits no separators or "..": this holds by construction, and is checked once more here.
            if (!path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new ServeError(StatusCodes.Status400BadRequest, "device label does not name a folder inside the bench folder.");
            doc.Save(path);
            await Results.Json(new
            {
                saved = Path.Combine(options.BenchFolder, folder, "bench.json"),
                device,
                results = doc.Results.Count,
                blocks = doc.Blocks.Count,
                table = BenchTables.LatencyTable(doc),
                parts = doc.Results.Any(r => r.Part != BenchPart.Model) ? BenchTables.PartsTable(doc) : null,
                blockTable = doc.Blocks.Count > 0 ? BenchTables.BlocksTable(doc) : null,
            }, PlanJson, statusCode: StatusCodes.Status201Created).ExecuteAsync(context);
        }));
    }

    /// <summary>The body, never more than <see cref="BrowserBench.MaxBodyBytes"/>: Kestrel's own limit lowered for this request, and a capped read.</summary>
    static async Task<byte[]> ReadBody(HttpContext context, ServeOptions options)
    {
        long max = Math.Min(BrowserBench.MaxBodyBytes, options.MaxBodyBytes);
        if (context.Request.ContentLength > max) throw ImageRequest.TooLarge(context.Request.ContentLength, max);
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = max;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(options.RequestTimeout);
        try
        {
            var body = await ImageRequest.ReadCappedAsync(context.Request.Body, context.Request.ContentLength, max, timeout.Token);
            return body.Length > 0 ? body : throw new ServeError(StatusCodes.Status400BadRequest, "empty body: post the /bench page's JSON.");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge) { throw ImageRequest.TooLarge(null, max); }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            throw new ServeError(StatusCodes.Status504GatewayTimeout, $"reading the body took longer than {options.RequestTimeout.TotalSeconds:0} s.");
        }
    }

    static async Task Answer(HttpContext context, Func<Task> handle)
    {
        try { await handle(); }
        catch (ServeError e) when (!context.Response.HasStarted) { await ServeApp.Text(context, e.Status, e.Message); }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested) { context.Response.StatusCode = 499; }
    }
}
