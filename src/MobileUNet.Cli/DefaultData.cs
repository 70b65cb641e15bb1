namespace MobileUNet.Cli;

/// <summary>
/// The data that ships with the program (see data/DATA.md): copied beside the executable at build time, and
/// found in the working folder's data/ too when running from a checkout.
/// </summary>
public static class DefaultData
{
    public static string Root
    {
        get
        {
            foreach (var candidate in new[] { Path.Combine(AppContext.BaseDirectory, "data"), Path.Combine(Environment.CurrentDirectory, "data") })
                if (Directory.Exists(Path.Combine(candidate, "default", "cutouts"))) return candidate;
            throw new DirectoryNotFoundException($"{Path.Combine(AppContext.BaseDirectory, "data")}: the embedded default data is missing (rebuild, or pass --cutouts/--backgrounds).");
        }
    }

    public static string Cutouts => Path.Combine(Root, "default", "cutouts");
    public static string Backgrounds => Path.Combine(Root, "default", "backgrounds");
    public static string Voc => Path.Combine(Root, "voc");
    public static string Demo => Path.Combine(Root, "demo");
}
