using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using MobileUNet.Data;
using MobileUNet.Inference;
using MobileUNet.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SkiaSharp;

namespace MobileUNet.Serve.Tests;

/// <summary>
/// The real service (real model, real batcher, real middleware) hosted in-process over TestServer. The model is
/// an untrained alpha 0.25 / 64 export made once per test run: speed and plumbing need no training.
/// </summary>
sealed class ServeTestHost : IAsyncDisposable
{
    public static ModelSpec Spec { get; } = new(0.25, 64);

    static readonly Lazy<string> ModelFile = new(() =>
    {
        var path = Path.Combine(Path.GetTempPath(), $"munet-serve-tests-{Environment.ProcessId}.onnx");
        File.WriteAllBytes(path, new ModelSource.Untrained(Spec, Seed: 1).OnnxBytes().Bytes);
        return path;
    });

    public static string ModelPath => ModelFile.Value;

    readonly WebApplication app;

    ServeTestHost(WebApplication app)
    {
        this.app = app;
        Client = app.GetTestClient();
        Client.Timeout = TimeSpan.FromSeconds(60);
    }

    public HttpClient Client { get; }
    public ServeMetrics Metrics => app.Services.GetRequiredService<ServeMetrics>();
    public IServiceProvider Services => app.Services;
    public IHostApplicationLifetime Lifetime => app.Lifetime;

    /// <summary>Stops the host as SIGTERM does (the drain, then the server).</summary>
    public Task StopAsync() => app.StopAsync();

    public static async Task<ServeTestHost> StartAsync(Func<ServeOptions, ServeOptions>? configure = null)
    {
        var options = new ServeOptions { Model = new ModelSource.File(ModelPath), MaxBatch = 8, MaxWaitMs = 2 };
        if (configure is not null) options = configure(options);
        var app = ServeApp.Build(options, builder => builder.WebHost.UseTestServer());
        await app.StartAsync();
        return new ServeTestHost(app);
    }

    /// <summary>Polls a condition the service reaches asynchronously (a request admitted to the queue).</summary>
    public static Task Until(Func<bool> condition, string what) => Until(() => Task.FromResult(condition()), what);

    public static async Task Until(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"never saw: {what}");
            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await app.DisposeAsync();
    }
}

/// <summary>
/// A request body held back until <see cref="Open"/>: the request has begun (the batcher counts it as on its way)
/// but cannot be decoded yet. Tests use it to keep a batch open for company, or to line requests up.
/// </summary>
sealed class GatedBody : HttpContent
{
    readonly byte[] bytes;
    readonly TaskCompletionSource gate;

    /// <param name="gate">Opened by the test; several bodies may share one to be released together.</param>
    public GatedBody(byte[] bytes, TaskCompletionSource? gate = null, string type = "image/jpeg")
    {
        this.bytes = bytes;
        this.gate = gate ?? new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(type);
    }

    public void Open() => gate.TrySetResult();

    protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
    {
        await gate.Task.ConfigureAwait(false);
        await stream.WriteAsync(bytes).ConfigureAwait(false);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = bytes.Length;
        return true;
    }
}

/// <summary>Encoded test images made here: a photo-like gradient with a figure, a truncated file, a bomb.</summary>
static class TestImages
{
    public static RgbaImage Photo(int width, int height, int seed = 0)
    {
        var image = new RgbaImage(width, height);
        var p = image.Pixels;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int o = (y * width + x) * 4;
                bool figure = Math.Pow((x - width * 0.5) / (width * 0.2), 2) + Math.Pow((y - height * 0.6) / (height * 0.35), 2) < 1;
                p[o] = (byte)(figure ? 200 : (x * 255 / width + seed * 40) % 256);
                p[o + 1] = (byte)(figure ? 150 : y * 255 / height);
                p[o + 2] = (byte)(figure ? 120 : 90);
                p[o + 3] = 255;
            }
        return image;
    }

    public static byte[] Encode(RgbaImage image, SKEncodedImageFormat format, int quality = 90)
    {
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var handle = GCHandle.Alloc(image.Pixels, GCHandleType.Pinned);
        try
        {
            using var pixmap = new SKPixmap(info, handle.AddrOfPinnedObject(), info.RowBytes);
            using var data = pixmap.Encode(format, quality)!;
            return data.ToArray();
        }
        finally { handle.Free(); }
    }

    public static byte[] Jpeg(int width, int height, int seed = 0) => Encode(Photo(width, height, seed), SKEncodedImageFormat.Jpeg);

    /// <summary>Decodes a PNG answer to width, height and RGBA pixels.</summary>
    public static RgbaImage DecodePng(byte[] png) => ImageFile.Decode(png, "answer");

    /// <summary>A PNG whose IHDR claims width x height RGB, with a small zlib stream of zero rows (a decompression bomb).</summary>
    public static byte[] BombPng(int width, int height, int rows = 50) => MobileUNet.Tests.CraftedPng.Bomb(width, height, rows);
}
