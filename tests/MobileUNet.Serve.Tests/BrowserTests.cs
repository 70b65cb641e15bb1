using System.Diagnostics;
using System.Text.Json.Nodes;
using MobileUNet.Data;
using MobileUNet.Inference;
using MobileUNet.Model;
using Microsoft.Extensions.Hosting;
using Xunit.Abstractions;

namespace MobileUNet.Serve.Tests;

/// <summary>
/// The camera page in a real browser: Debian's chromium, headless, with a fake camera fed from a y4m clip made by
/// ffmpeg from the repository's real demo photo. The page runs the served export of the shipped `person` model
/// (a0.5/128) with onnxruntime-web; the mask it computed for a known frame must agree with the server's mask for the
/// same pixels (IoU >= 0.99). scripts/test.sh installs chromium and ffmpeg. MOBILEUNET_SCREENSHOT=FILE also saves
/// the page (the README's picture).
/// </summary>
public class BrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Camera_page_segments_a_fake_camera_in_the_browser_like_the_server_does()
    {
        var dir = Path.Combine(Path.GetTempPath(), "munet-browser-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var clip = Path.Combine(dir, "camera.y4m");
        MakeClip(clip);

        // The model users get by default: its masks of a real person are confident, unlike an untrained net's.
        await using var app = ServeApp.Build(new ServeOptions { Model = ModelSource.Parse("person"), Port = 0, Threads = 1 });
        await app.StartAsync();
        var origin = app.Urls.Single();

        using var browser = Chromium.Launch(dir, $"{origin}/camera?known=10",
            ["--disable-gpu", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", $"--use-file-for-fake-video-capture={clip}"]);
        JsonNode state = await browser.WaitForAsync("window.mobileunet", s => s?["error"] is not null || s?["known"] is not null && s["medianMs"] is JsonObject && s["frames"]!.GetValue<int>() >= 90, TimeSpan.FromSeconds(150));
        Assert.Null(state["error"]);
        double fps = state["fps"]!.GetValue<double>();
        var median = state["medianMs"]!;
        output.WriteLine($"browser: {1000 / median["period"]!.GetValue<double>():0.0} FPS (median frame period; moving average {fps:0.0}), " +
                         $"median ms {median.ToJsonString()}, pixels by {state["grabber"]}, wasm threads {state["threads"]}, frames {state["frames"]}");
        if (Environment.GetEnvironmentVariable("MOBILEUNET_SCREENSHOT") is { Length: > 0 } shot)
            await File.WriteAllBytesAsync(shot, await browser.ScreenshotAsync());

        var known = state["known"]!;
        int w = known["width"]!.GetValue<int>(), h = known["height"]!.GetValue<int>();
        var browserMask = Convert.FromBase64String(known["mask"]!.GetValue<string>());
        using var client = new HttpClient { BaseAddress = new Uri(origin) };
        using var response = await client.PostAsync("/v1/segment?output=mask", new ByteArrayContent(Convert.FromBase64String(known["png"]!.GetValue<string>())));
        response.EnsureSuccessStatusCode();
        var serverMask = TestImages.DecodePng(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal((w, h), (serverMask.Width, serverMask.Height));
        long both = 0, either = 0;
        for (int i = 0; i < w * h; i++)
        {
            bool a = browserMask[i] != 0, b = serverMask.Pixels[i * 4] != 0;
            if (a && b) both++;
            if (a || b) either++;
        }
        double iou = either == 0 ? 1 : (double)both / either;
        output.WriteLine($"known frame {w}x{h}: foreground {either} px, IoU browser vs server {iou:0.0000}");
        Assert.True(either > w * h / 100, "the known frame's mask is (nearly) empty: nothing to compare");
        Assert.True(iou >= 0.99, $"IoU {iou:0.0000} < 0.99");
        Assert.True(fps > 0);
        // Chromium converts camera frames to RGBA in VideoFrame.copyTo: the page must take that path, not the canvas.
        Assert.Equal("webcodecs", state["grabber"]!.GetValue<string>());
    }

    /// <summary>The demo photo (a real person, 512x512) scaled to 640x640 and cut to 640x480, 3 s at 30 FPS, as y4m.</summary>
    static void MakeClip(string path)
    {
        var square = ImageFile.Read(Path.Combine(FindData(), "demo", "astronaut.png")).Resize(640, 640);
        var photo = new RgbaImage(640, 480);
        Array.Copy(square.Pixels, 80 * 640 * 4, photo.Pixels, 0, photo.Pixels.Length);
        var png = Path.ChangeExtension(path, ".png");
        File.WriteAllBytes(png, TestImages.Encode(photo, SkiaSharp.SKEncodedImageFormat.Png));
        Run("ffmpeg", $"-loglevel error -y -loop 1 -i {png} -t 3 -r 30 -pix_fmt yuv420p {path}");
    }

    static string FindData()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "data", "DATA.md"))) return Path.Combine(dir.FullName, "data");
        throw new DirectoryNotFoundException("data/ not found above the test binaries.");
    }

    static void Run(string program, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardError = true })
                            ?? throw new InvalidOperationException($"{program} did not start");
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{program} {arguments}: exit {process.ExitCode}: {error}");
    }
}
