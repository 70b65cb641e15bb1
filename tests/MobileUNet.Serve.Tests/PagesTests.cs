using System.IO.Compression;
using System.Net;

namespace MobileUNet.Serve.Tests;

/// <summary>The pages and the vendored onnxruntime-web travel with the service and are served cross-origin isolated.</summary>
public class PagesTests
{
    [Theory]
    [InlineData("/", "/assets/upload.js")]
    [InlineData("/camera", "/assets/camera.js")]
    [InlineData("/bench", "/assets/bench.js")]
    public async Task Pages_are_html_and_cross_origin_isolated(string path, string script)
    {
        await using var host = await ServeTestHost.StartAsync();
        using var response = await host.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(script, await response.Content.ReadAsStringAsync());
        // WebAssembly threads need SharedArrayBuffer, which needs both headers.
        Assert.Equal("same-origin", response.Headers.GetValues("Cross-Origin-Opener-Policy").Single());
        Assert.Equal("require-corp", response.Headers.GetValues("Cross-Origin-Embedder-Policy").Single());
        using var js = await host.Client.GetAsync(script);
        Assert.Equal("text/javascript", js.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_vendored_runtime_is_served_gzipped_as_stored_or_inflated_for_clients_without_gzip()
    {
        await using var host = await ServeTestHost.StartAsync();
        using var module = await host.Client.GetAsync("/vendor/ort/ort.wasm.min.mjs");
        Assert.Equal(HttpStatusCode.OK, module.StatusCode);
        Assert.Equal("text/javascript", module.Content.Headers.ContentType?.MediaType);

        using var gzipRequest = new HttpRequestMessage(HttpMethod.Get, "/vendor/ort/ort-wasm-simd-threaded.wasm");
        gzipRequest.Headers.AcceptEncoding.ParseAdd("gzip, deflate, br");
        using var gzipped = await host.Client.SendAsync(gzipRequest);
        Assert.Equal("application/wasm", gzipped.Content.Headers.ContentType?.MediaType);
        Assert.Equal("gzip", gzipped.Content.Headers.ContentEncoding.Single());
        var compressed = await gzipped.Content.ReadAsByteArrayAsync();
        using var inflate = new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress);
        var wasm = new MemoryStream();
        inflate.CopyTo(wasm);
        Assert.Equal(14_239_897, wasm.Length);
        Assert.Equal("\0asm"u8.ToArray(), wasm.ToArray()[..4]);

        // The bench page's WebGPU runtime: its module and the asyncify build it loads, stored gzipped too.
        using var webgpu = await host.Client.GetAsync("/vendor/ort/ort.webgpu.min.mjs");
        Assert.Equal("text/javascript", webgpu.Content.Headers.ContentType?.MediaType);
        Assert.Contains("ort-wasm-simd-threaded.asyncify.mjs", await webgpu.Content.ReadAsStringAsync());
        using var loader = await host.Client.GetAsync("/vendor/ort/ort-wasm-simd-threaded.asyncify.mjs");
        Assert.Equal(HttpStatusCode.OK, loader.StatusCode);
        var asyncify = await host.Client.GetByteArrayAsync("/vendor/ort/ort-wasm-simd-threaded.asyncify.wasm");
        Assert.Equal(26_781_914, asyncify.Length);
        Assert.Equal("\0asm"u8.ToArray(), asyncify[..4]);

        var plain = await host.Client.GetByteArrayAsync("/vendor/ort/ort-wasm-simd-threaded.wasm");
        Assert.Equal(wasm.ToArray(), plain);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync("/vendor/ort/../../camera.html.gz")).StatusCode);
    }
}
