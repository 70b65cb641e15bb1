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

    public static IReadOnlyList<ModelSpec> Specs(string alphas, string sizes, Upsampling upsampling) => Specs(alphas, sizes, [upsampling]);

    /// <summary>Alpha x size x upsampling, in that nesting: a config's decoder variants stand side by side.</summary>
    public static IReadOnlyList<ModelSpec> Specs(string alphas, string sizes, IReadOnlyList<Upsampling> upsamplings) =>
        [.. from a in Alphas(alphas) from s in Sizes(sizes) from u in upsamplings select new ModelSpec(a, s, u)];

    /// <summary>A comma list of enum names, any case (e.g. "fp32,int8"), each once, in the order given.</summary>
    public static IReadOnlyList<T> Names<T>(string option, string list) where T : struct, Enum
    {
        var values = Split(list).Select(n => Enum.TryParse<T>(n, ignoreCase: true, out var v) && Enum.IsDefined(v) ? v
            : throw new ArgumentException($"{option}: '{n}' is not one of {string.Join(", ", Enum.GetNames<T>())}.")).Distinct().ToList();
        return values.Count > 0 ? values : throw new ArgumentException($"{option}: give at least one of {string.Join(", ", Enum.GetNames<T>())}.");
    }

    static IEnumerable<string> Split(string list) =>
        list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
