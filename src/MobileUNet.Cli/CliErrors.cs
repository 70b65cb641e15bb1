using Spectre.Console;
using Spectre.Console.Cli;

namespace MobileUNet.Cli;

/// <summary>Every failure surfaces as one line on stderr and a non-zero exit; --verbose adds the stack trace.</summary>
public static class CliErrors
{
    public static int Run(ICommandApp app, string[] args)
    {
        bool verbose = args.Contains("--verbose");
        try
        {
            return app.Run(args.Where(a => a != "--verbose").ToArray());
        }
        catch (Exception e)
        {
            var inner = e is CommandRuntimeException or CommandParseException ? e : Unwrap(e);
            Console.Error.WriteLine($"error: {OneLine(inner)}{Suggestion(inner)}");
            if (verbose) Console.Error.WriteLine(inner);
            return inner is CommandParseException or CommandRuntimeException or ArgumentException ? 2 : 1;
        }
    }

    // ArgumentException appends " (Parameter 'x')" to its message; the message already names the option. Spectre names
    // an optional enum's type "Nullable`1" and lists its empty value first: say what was typed and the real choices.
    static string OneLine(Exception e)
    {
        var message = e is ArgumentException { ParamName: { } name } ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message;
        message = message.Replace(" to Nullable`1.", ".", StringComparison.Ordinal).Replace("Valid values are '', ", "Valid values are ", StringComparison.Ordinal);
        return message.ReplaceLineEndings(" ");
    }

    /// <summary>
    /// The command-line remedy the library cannot name (its messages do not know the flags): the pixel limit's option,
    /// or for an unknown option the nearest real one (edit distance at most 2), e.g. " Did you mean --precision?", or,
    /// for another command's option, that this one has no such option.
    /// </summary>
    static string Suggestion(Exception e)
    {
        if (e is MobileUNet.Data.ImageTooLargeException) return " (--max-pixels raises the limit)";
        if (e is not CommandParseException) return "";
        var match = System.Text.RegularExpressions.Regex.Match(e.Message, "Unknown option '([^']+)'");
        if (!match.Success) return "";
        var typed = match.Groups[1].Value;
        // The names are every command's: an option another command has is not a typo to correct here.
        if (OptionNames.Value.Contains(typed)) return $" This command has no --{typed}; its --help lists the options it takes.";
        var nearest = OptionNames.Value
            .Select(name => (Name: name, Distance: EditDistance(typed, name)))
            .Where(c => c.Distance <= Math.Max(1, Math.Min(2, typed.Length / 3)))
            .OrderBy(c => c.Distance).ThenBy(c => c.Name, StringComparer.Ordinal)
            .FirstOrDefault();
        return nearest.Name is null ? "" : $" Did you mean --{nearest.Name}?";
    }

    static readonly Lazy<HashSet<string>> OptionNames = new(() =>
    [
        .. typeof(CliErrors).Assembly.GetTypes()
            .SelectMany(t => t.GetProperties())
            .SelectMany(p => p.GetCustomAttributes(typeof(CommandOptionAttribute), inherit: true).Cast<CommandOptionAttribute>())
            .SelectMany(a => a.LongNames),
        "verbose",
    ]);

    static int EditDistance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }

    static Exception Unwrap(Exception e) =>
        e is AggregateException or System.Reflection.TargetInvocationException or TypeInitializationException && e.InnerException is not null
            ? Unwrap(e.InnerException!)
            : e;
}
