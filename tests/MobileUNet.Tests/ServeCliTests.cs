using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace MobileUNet.Tests;

/// <summary>`mobileunet serve` as a real process on a real port: it starts, answers, and exits 0 on SIGTERM.</summary>
public class ServeCliTests
{
    [Fact]
    public async Task Serve_answers_on_its_port_and_exits_cleanly_on_sigterm()
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "MobileUNet.Cli.dll"), "serve", "--untrained", "--alpha", "0.25", "--size", "64", "--port", "0" })
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120));
            var url = Regex.Match(line ?? "", @"http://127\.0\.0\.1:\d+").Value;
            Assert.True(url.Length > 0, $"no address in: {line}");
            using var client = new HttpClient { BaseAddress = new Uri(url) };
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
            var jpeg = await File.ReadAllBytesAsync(Path.Combine(TestData.Backgrounds, Directory.GetFiles(TestData.Backgrounds, "*.jpg")[0]));
            using var response = await client.PostAsync("/v1/segment?output=json", new ByteArrayContent(jpeg));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("\"foreground_fraction\"", await response.Content.ReadAsStringAsync());
        }
        finally
        {
            using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            kill.WaitForExit();
        }
        Assert.True(process.WaitForExit(30_000), "serve did not exit within 30 s of SIGTERM");
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {await stderr}");
    }
}
