using System.Globalization;
using MobileUNet.Model;

namespace MobileUNet.Cli;

/// <summary>Parses the comma-separated alpha and size lists that grid commands take.</summary>
public static class GridOptions
{
    public static IReadOnlyList<double> Alphas(string list) =>
        Split(list).Select(a => double.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
            ? v : throw new ArgumentException($"--alphas: '{a}' is not a number.")).ToList();

    public static IReadOnlyList<int> Sizes(string list) =>
        Split(list).Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            ? v : throw new ArgumentException($"--sizes: '{s}' is not an integer.")).ToList();

    public static IReadOnlyList<ModelSpec> Specs(string alphas, string sizes, Upsampling upsampling) =>
        [.. from a in Alphas(alphas) from s in Sizes(sizes) select new ModelSpec(a, s, upsampling)];

    static IEnumerable<string> Split(string list) =>
        list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
