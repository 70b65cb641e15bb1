using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using MobileUNet.Data;
using MobileUNet.Inference;
using MobileUNet.Model;
using Microsoft.Extensions.Hosting;
using Xunit.Abstractions;

namespace MobileUNet.Serve.Tests;

/// <summary>
/// The camera page in a real browser: Debian's chromium, headless, with a fake camera fed from a y4m clip made by
/// ffmpeg from the embedded data. The page runs the served a0.5/128 export with onnxruntime-web; the mask it
/// computed for a known frame must agree with the server's mask for the same pixels (IoU >= 0.99).
/// scripts/test.sh installs chromium and ffmpeg.
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

        var model = Path.Combine(dir, "a05-128.onnx");
        File.WriteAllBytes(model, new ModelSource.Untrained(new ModelSpec(0.5, 128), Seed: 2).OnnxBytes().Bytes);
        await using var app = ServeApp.Build(new ServeOptions { Model = new ModelSource.File(model), Port = 0, Threads = 1 });
        await app.StartAsync();
        var origin = app.Urls.Single();

        using var browser = Chromium.Launch(dir, clip, $"{origin}/camera?known=10");
        JsonNode state = await browser.WaitForAsync("window.mobileunet", s => s?["error"] is not null || s?["known"] is not null && s["frames"]!.GetValue<int>() >= 40, TimeSpan.FromSeconds(150));
        Assert.Null(state["error"]);
        double fps = state["fps"]!.GetValue<double>();
        output.WriteLine($"browser: {fps:0.0} FPS, model {state["inferenceMs"]!.GetValue<double>():0.0} ms, wasm threads {state["threads"]}, frames {state["frames"]}");
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
    }

    /// <summary>A figure (an embedded cutout) over an embedded photo, 640x480, 3 s at 30 FPS, as y4m.</summary>
    static void MakeClip(string path)
    {
        var data = FindData();
        var background = Path.Combine(data, "default", "backgrounds", "dune.jpg");
        // The cutouts are WebP with alpha; ffmpeg's WebP decoder is optional, so composite with our own reader.
        var cutout = ImageFile.Read(Path.Combine(data, "default", "cutouts", "1f3c3.webp"));
        var photo = ImageFile.Read(background).Resize(640, 480);
        var person = cutout.Resize(320, 320);
        for (int y = 0; y < 320; y++)
            for (int x = 0; x < 320; x++)
            {
                int s = (y * 320 + x) * 4, d = ((y + 140) * 640 + x + 160) * 4;
                float a = person.Pixels[s + 3] / 255f;
                for (int c = 0; c < 3; c++) photo.Pixels[d + c] = (byte)(person.Pixels[s + c] * a + photo.Pixels[d + c] * (1 - a) + 0.5f);
            }
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

    /// <summary>Headless chromium driven over the DevTools protocol (a WebSocket; no client library needed).</summary>
    sealed class Chromium : IDisposable
    {
        readonly Process process;
        readonly ClientWebSocket socket = new();
        int nextId;

        Chromium(Process process) => this.process = process;

        public static Chromium Launch(string dir, string clip, string url)
        {
            var profile = Path.Combine(dir, "profile");
            var start = new ProcessStartInfo("chromium")
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            };
            foreach (var arg in new[]
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--mute-audio",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", $"--use-file-for-fake-video-capture={clip}",
                "--remote-debugging-port=0", $"--user-data-dir={profile}", "--window-size=900,760", url,
            }) start.ArgumentList.Add(arg);
            var process = Process.Start(start) ?? throw new InvalidOperationException("chromium did not start");
            process.ErrorDataReceived += (_, _) => { };
            process.OutputDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            var browser = new Chromium(process);
            try { browser.Connect(profile).GetAwaiter().GetResult(); }
            catch
            {
                browser.Dispose();
                throw;
            }
            return browser;
        }

        async Task Connect(string profile)
        {
            var portFile = Path.Combine(profile, "DevToolsActivePort");
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!File.Exists(portFile) || new FileInfo(portFile).Length == 0)
            {
                if (DateTime.UtcNow > deadline || process.HasExited) throw new InvalidOperationException("chromium did not open its DevTools port");
                await Task.Delay(100);
            }
            int port = int.Parse((await File.ReadAllLinesAsync(portFile))[0], System.Globalization.CultureInfo.InvariantCulture);
            using var http = new HttpClient();
            string? ws = null;
            while (ws is null)
            {
                var targets = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/json/list"))!.AsArray();
                ws = targets.FirstOrDefault(t => t!["type"]!.GetValue<string>() == "page")?["webSocketDebuggerUrl"]?.GetValue<string>();
                if (ws is null) await Task.Delay(100);
            }
            await socket.ConnectAsync(new Uri(ws), CancellationToken.None);
        }

        async Task<JsonNode> Call(string method, JsonObject parameters)
        {
            int id = ++nextId;
            var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters };
            await socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
            var buffer = new byte[1 << 16];
            while (true)
            {
                using var text = new MemoryStream();
                WebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                    text.Write(buffer, 0, result.Count);
                } while (!result.EndOfMessage);
                var reply = JsonNode.Parse(text.ToArray())!;
                if (reply["id"]?.GetValue<int>() != id) continue; // events
                if (reply["error"] is { } error) throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
                return reply["result"]!;
            }
        }

        /// <summary>Polls a page expression (JSON-serialised in the page) until <paramref name="done"/> holds.</summary>
        public async Task<JsonNode> WaitForAsync(string expression, Func<JsonNode?, bool> done, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            JsonNode? last = null;
            while (DateTime.UtcNow < deadline)
            {
                var result = await Call("Runtime.evaluate", new JsonObject { ["expression"] = $"JSON.stringify({expression} ?? null)", ["returnByValue"] = true });
                last = JsonNode.Parse(result["result"]!["value"]?.GetValue<string>() ?? "null");
                if (done(last)) return last!;
                await Task.Delay(250);
            }
            throw new TimeoutException($"the page never got there; last state: {last?.ToJsonString() ?? "null"}");
        }

        public async Task<byte[]> ScreenshotAsync()
        {
            var result = await Call("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
            return Convert.FromBase64String(result["data"]!.GetValue<string>());
        }

        public void Dispose()
        {
            socket.Dispose();
            try { if (!process.HasExited) process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
            process.WaitForExit(5000);
            process.Dispose();
        }
    }
}
